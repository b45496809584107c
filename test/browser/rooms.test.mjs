// Staying in several rooms at once, over one connection: the home screen lists them with
// their last message and unread count, going back and forth is not leaving, a reload or a
// dropped connection keeps every room, and "나가기" leaves only the room it is in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  bot, bubbles, createRoom, launchBrowser, leaveRoom, messageIds, person, recordAlerts, send, setHidden, shot,
  startServer, waitConnected,
} from './harness.mjs';

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

const GRACE_MS = 1000; // the server's default --leave-grace
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The home screen's rows: title, last message, unread badge. */
function homeRows(page) {
  return page.locator('.room-list li').evaluateAll((lis) =>
    lis.map((li) => ({
      title: li.querySelector('.room-name').textContent,
      last: li.querySelector('.room-last').textContent,
      unread: li.querySelector('.unread')?.textContent ?? '',
    })),
  );
}

async function goHome(page) {
  await page.locator('.room-header a[href="/"]').click();
  await page.locator('#room-title').waitFor();
}

async function openFromHome(page, title) {
  await page.locator('.room-list a', { hasText: title }).click();
  await waitConnected(page);
}

/** The chatter this browser is in a room as (what it keeps in localStorage). */
function chatterIn(page, roomUrl) {
  const roomId = decodeURIComponent(new URL(roomUrl).pathname.split('/').pop());
  return page.evaluate((id) => JSON.parse(localStorage.getItem(`colachat:room:${id}`))?.chatterId, roomId);
}

/** Alerts about someone else than the bot itself. */
const aboutOthers = (got, b) => got.filter((m) => m.chatterId !== b.me.id);

test('in two rooms at once: listed with unread counts, back and forth is not leaving, leaving one leaves only that one', async () => {
  const a = await person(browser, server.url);
  const connections = [];
  a.page.on('websocket', (ws) => connections.push(ws.url()));

  const url1 = await createRoom(a.page, { title: '첫째 방' });
  const one = await bot(server.url, url1);
  const got1 = recordAlerts(one.socket);
  const url2 = await createRoom(a.page, { title: '둘째 방', here: true });
  const two = await bot(server.url, url2);
  const got2 = recordAlerts(two.socket);
  const me1 = await chatterIn(a.page, url1);

  // Both rooms on the home screen; messages arriving meanwhile are counted.
  await goHome(a.page);
  await one.say('첫째 방 소식 1');
  await one.say('첫째 방 소식 2');
  await two.say('둘째 방 소식');
  await a.page.locator('.room-list li', { hasText: '둘째 방 소식' }).locator('.unread').waitFor();
  await a.page.locator('.room-list li', { hasText: '첫째 방 소식 2' }).locator('.unread', { hasText: '2' }).waitFor();
  assert.deepEqual(await homeRows(a.page), [
    { title: '둘째 방', last: `${two.me.nickname}: 둘째 방 소식`, unread: '1' },
    { title: '첫째 방', last: `${one.me.nickname}: 첫째 방 소식 2`, unread: '2' },
  ]);
  assert.equal(await a.page.locator('.room-list .unread').first().getAttribute('aria-label'), '읽지 않은 메시지 1개');
  await shot(a.page, 'home-rooms');

  // Into the first room: a line where the unread messages begin; back home, it is read.
  await openFromHome(a.page, '첫째 방');
  await a.page.locator('.unread-line').waitFor();
  assert.equal(await a.page.locator('.unread-line').textContent(), '여기부터 새 메시지');
  const firstUnread = await a.page.locator('.unread-line').evaluate((el) => el.closest('li').querySelector('.bubble')?.textContent);
  assert.equal(firstUnread, '첫째 방 소식 1');
  await shot(a.page, 'unread-line');
  await goHome(a.page);
  assert.deepEqual((await homeRows(a.page)).map((r) => r.unread), ['1', '']);
  await openFromHome(a.page, '둘째 방');
  await send(a.page, '둘째 방에서 답장');
  await goHome(a.page);
  await openFromHome(a.page, '첫째 방');
  await goHome(a.page);

  // Past the grace: nobody was told anything about A coming and going.
  await sleep(GRACE_MS + 800);
  assert.deepEqual(aboutOthers(got1, one), [], 'alerts in the first room');
  assert.deepEqual(aboutOthers(got2, two), [], 'alerts in the second room');
  assert.equal(connections.length, 1, `one connection for every room, got ${connections.length}`);

  // Leaving the first room leaves it alone.
  await openFromHome(a.page, '첫째 방');
  await leaveRoom(a.page);
  await a.page.locator('[data-screen="LEFT"] a.btn', { hasText: '처음으로' }).click();
  await a.page.locator('#room-title').waitFor();
  assert.deepEqual((await homeRows(a.page)).map((r) => r.title), ['둘째 방']);
  await sleep(GRACE_MS + 800);
  assert.deepEqual(aboutOthers(got1, one).map((m) => [m.alert?.kind, m.chatterId]), [['leave', me1]]);
  assert.deepEqual(aboutOthers(got2, two), [], 'leaving the first room touched the second');
  // Still in the second room, live.
  await two.say('아직 여기 있어요?');
  await a.page.locator('.room-list li', { hasText: '아직 여기 있어요?' }).locator('.unread', { hasText: '1' }).waitFor();
  assert.equal(connections.length, 1);

  one.close();
  two.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('a reload keeps you in every room without noise; a dropped connection recovers them all', async () => {
  const a = await person(browser, server.url, { viewport: { width: 390, height: 844 }, mobile: true });
  // The page's socket traffic goes through this proxy, so the test can cut both ends at once
  // (the server keeps the session for recovery) and refuse reconnects meanwhile.
  // It also records the Socket.IO packets both ways.
  let online = true;
  const open = new Set();
  const frames = [];
  await a.page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (!online) {
      ws.close({ code: 1001, reason: 'offline' });
      return;
    }
    const upstream = ws.connectToServer();
    ws.onMessage((m) => {
      frames.push(['out', String(m)]);
      upstream.send(m);
    });
    upstream.onMessage((m) => {
      frames.push(['in', String(m)]);
      ws.send(m);
    });
    const pair = { ws, upstream };
    open.add(pair);
    ws.onClose(() => open.delete(pair));
  });
  await a.page.route(/\/socket\.io\/.*transport=polling/, (route) => (online ? route.continue() : route.abort('internetdisconnected')));

  const url1 = await createRoom(a.page, { title: '산책 모임' });
  const one = await bot(server.url, url1);
  const got1 = recordAlerts(one.socket);
  const url2 = await createRoom(a.page, { title: '독서 모임', here: true });
  const two = await bot(server.url, url2);
  const got2 = recordAlerts(two.socket);
  await one.say('산책 1');
  await two.say('독서 1');

  await a.page.reload(); // in the second room
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: '독서 1' }).waitFor();
  await goHome(a.page);
  await a.page.locator('.room-list li', { hasText: '산책 1' }).waitFor();
  await a.page.locator('.room-list li', { hasText: '독서 1' }).waitFor();
  await shot(a.page, 'home-rooms-mobile');
  await sleep(GRACE_MS + 800);
  assert.deepEqual(aboutOthers(got1, one), [], 'a reload made noise in the first room');
  assert.deepEqual(aboutOthers(got2, two), [], 'a reload made noise in the second room');

  // The network drops while A reads the second room; both rooms go on without A.
  await openFromHome(a.page, '독서 모임');
  online = false;
  for (const { ws, upstream } of [...open]) {
    await upstream.close();
    await ws.close({ code: 1001, reason: 'network drop' });
  }
  await a.page.locator('.banner:not([hidden])').waitFor();
  for (const n of [2, 3, 4]) {
    await one.say(`산책 ${n}`);
    await two.say(`독서 ${n}`);
  }
  const cut = frames.length;
  online = true;
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: '독서 4' }).waitFor();
  // The session was recovered: the CONNECT named both rooms' positions (beside pid and
  // offset), the server gave the socket its id back, and no room had to be joined again.
  const connects = (dir, from, to = frames.length) =>
    frames.slice(from, to).filter(([d, f]) => d === dir && f.startsWith('40/anonymous,')).map(([, f]) => JSON.parse(f.slice(f.indexOf(',') + 1)));
  const [before] = connects('in', 0, cut).slice(-1);
  const [auth] = connects('out', cut);
  const [reply] = connects('in', cut);
  const [id1, id2] = [url1, url2].map((u) => decodeURIComponent(new URL(u).pathname.split('/').pop()));
  assert.deepEqual(Object.keys(auth.positions ?? {}).sort(), [id1, id2].sort(), `CONNECT auth ${JSON.stringify(auth)}`);
  assert.ok(Object.values(auth.positions).every((p) => Number.isInteger(p) && p > 0), JSON.stringify(auth.positions));
  assert.equal(typeof auth.pid, 'string');
  assert.equal(reply.sid, before.sid, 'the session was recovered (same socket id)');
  assert.equal(frames.slice(cut).filter(([d, f]) => d === 'out' && f.includes('"joinRoom"')).length, 0, 'a room was joined again');
  assert.deepEqual(await bubbles(a.page), ['독서 1', '독서 2', '독서 3', '독서 4']);
  const ids = await messageIds(a.page);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids}`);
  assert.deepEqual([...ids].sort((x, y) => x - y), ids);
  await goHome(a.page);
  await a.page.locator('.room-list li', { hasText: '산책 4' }).locator('.unread', { hasText: '4' }).waitFor();
  await openFromHome(a.page, '산책 모임');
  await a.page.locator('.msg .bubble', { hasText: '산책 4' }).waitFor();
  assert.deepEqual(await bubbles(a.page), ['산책 1', '산책 2', '산책 3', '산책 4']);

  one.close();
  two.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('while the tab is hidden the title counts new messages, and the room shows where you left off', async () => {
  const a = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '탭 숨김' });
  const friend = await bot(server.url, url);
  await friend.say('보이는 동안');
  await a.page.locator('.msg .bubble', { hasText: '보이는 동안' }).waitFor();
  assert.equal(await a.page.title(), '탭 숨김 · Cola Chat');

  await setHidden(a.page, true);
  await friend.say('숨긴 동안 1');
  await friend.say('숨긴 동안 2');
  await friend.say('숨긴 동안 3');
  await a.page.waitForFunction(() => document.title === '(3) 탭 숨김 · Cola Chat');
  assert.equal(await a.page.locator('.unread-line').count(), 0, 'no line while nobody looks');

  await setHidden(a.page, false);
  await a.page.waitForFunction(() => document.title === '탭 숨김 · Cola Chat');
  await a.page.locator('.unread-line').waitFor();
  const first = await a.page.locator('.unread-line').evaluate((el) => el.closest('li').querySelector('.bubble')?.textContent);
  assert.equal(first, '숨긴 동안 1');
  // Answering puts the line away.
  await send(a.page, '다시 왔어요');
  assert.equal(await a.page.locator('.unread-line').count(), 0);
  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});
