// A network drop: the page reconnects by itself and shows every missed message once, in order.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bot, bubbles, createRoom, launchBrowser, messageIds, person, send, shot, startServer, waitConnected } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('after a network drop every missed message shows once, in order', async () => {
  const a = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '끊겨도 괜찮아', capacity: 4 });
  const friend = await bot(server.url, url);
  await friend.say('끊기기 전');
  await a.page.locator('.msg .bubble', { hasText: '끊기기 전' }).waitFor();

  // The browser goes offline: its open WebSocket drops and new attempts fail.
  await a.context.setOffline(true);
  await a.page.locator('.banner:not([hidden])').waitFor();
  await a.page.locator('.room-header .status.reconnecting, .room-header .status.disconnected').first().waitFor();
  assert.equal(await a.page.locator('.composer button[type=submit]').isDisabled(), true);
  await shot(a.page, 'reconnecting');

  const missed = ['놓친 1', '놓친 2', '놓친 3', '놓친 4', '놓친 5'];
  for (const text of missed) await friend.say(text);

  await a.context.setOffline(false);
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: '놓친 5' }).waitFor();
  await send(a.page, '다시 연결됐어요');
  const got = await bubbles(a.page);
  assert.deepEqual(got, ['끊기기 전', ...missed, '다시 연결됐어요']);
  const ids = await messageIds(a.page);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids}`);
  assert.deepEqual([...ids].sort((x, y) => x - y), ids);
  assert.equal(await a.page.locator('.banner').isHidden(), true);

  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('a dropped connection is recovered: replayed and fetched messages show once, in order', async () => {
  const a = await person(browser, server.url);
  // The page's socket traffic goes through this proxy, so the test can cut both ends at once
  // (the server sees the close and keeps the session for recovery) and refuse reconnects.
  let online = true;
  const open = new Set();
  await a.page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (!online) {
      ws.close({ code: 1001, reason: 'offline' });
      return;
    }
    const upstream = ws.connectToServer();
    const pair = { ws, upstream };
    open.add(pair);
    ws.onClose(() => open.delete(pair));
  });
  await a.page.route(/\/socket\.io\/.*transport=polling/, (route) => (online ? route.continue() : route.abort('internetdisconnected')));

  const url = await createRoom(a.page, { title: '복구 테스트', capacity: 4 });
  const friend = await bot(server.url, url);
  await friend.say('끊기기 전');
  await a.page.locator('.msg .bubble', { hasText: '끊기기 전' }).waitFor();

  online = false;
  for (const { ws, upstream } of [...open]) {
    await upstream.close();
    await ws.close({ code: 1001, reason: 'network drop' });
  }
  await a.page.locator('.banner:not([hidden])').waitFor();

  const missed = ['복구 1', '복구 2', '복구 3'];
  for (const text of missed) await friend.say(text);

  online = true;
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: '복구 3' }).waitFor();
  await send(a.page, '돌아왔어요');
  assert.deepEqual(await bubbles(a.page), ['끊기기 전', ...missed, '돌아왔어요']);
  const ids = await messageIds(a.page);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids}`);
  assert.deepEqual([...ids].sort((x, y) => x - y), ids);

  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('a message lost on the way is noticed by the next one\'s seq and fetched, in its place', async () => {
  const a = await person(browser, server.url);
  // The proxy drops the one broadcast frame that carries "사라진 메시지".
  await a.page.routeWebSocket(/\/socket\.io\//, (ws) => {
    const upstream = ws.connectToServer();
    ws.onMessage((m) => upstream.send(m));
    upstream.onMessage((m) => {
      if (!String(m).includes('사라진 메시지')) ws.send(m);
    });
  });
  const url = await createRoom(a.page, { title: '빠진 메시지', capacity: 4 });
  const friend = await bot(server.url, url);
  await friend.say('앞');
  await a.page.locator('.msg .bubble', { hasText: '앞' }).waitFor();
  await friend.say('사라진 메시지');
  await friend.say('뒤');
  await a.page.locator('.msg .bubble', { hasText: '사라진 메시지' }).waitFor();
  assert.deepEqual(await bubbles(a.page), ['앞', '사라진 메시지', '뒤']);
  const ids = await messageIds(a.page);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids}`);
  assert.deepEqual([...ids].sort((x, y) => x - y), ids);
  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});
