// History: several pages loaded by scrolling up, with no gap and no repeat; the "new message"
// preview while reading older messages.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bot, bubbles, createRoom, launchBrowser, messageIds, person, shot, startServer, waitConnected } from './harness.mjs';

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

const label = (i) => `메시지 ${String(i).padStart(3, '0')}`;

function assertAscendingUnique(ids) {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids not strictly ascending at ${i}: ${ids[i - 1]}, ${ids[i]}`);
}

test('scrolling up loads every earlier page once, in order', async () => {
  const a = await person(browser, server.url, { viewport: { width: 900, height: 700 } });
  const url = await createRoom(a.page, { title: '긴 대화', capacity: 4 });
  const friend = await bot(server.url, url);
  const total = 130;
  for (let i = 1; i <= total; i++) await friend.say(label(i));
  await a.page.locator('.msg .bubble', { hasText: label(total) }).waitFor();

  // A fresh load shows the newest page only.
  await a.page.reload();
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: label(total) }).waitFor();
  const first = await messageIds(a.page);
  assert.equal(first.length, 50, `first page: got ${first.length} items, want 50`);
  assertAscendingUnique(first);

  // Scroll to the top until the beginning of the conversation is reached.
  const feed = a.page.locator('.feed');
  for (let round = 0; round < 10; round++) {
    if (await a.page.locator('.feed-note', { hasText: '여기서부터 대화가 시작됐어요' }).count()) break;
    const before = (await messageIds(a.page)).length;
    await feed.evaluate((el) => (el.scrollTop = 0));
    await a.page.waitForFunction((n) => document.querySelectorAll('.messages > li').length > n || !!document.querySelector('.feed-note:not([role])'), before);
  }
  await a.page.locator('.feed-note', { hasText: '여기서부터 대화가 시작됐어요' }).waitFor();
  const ids = await messageIds(a.page);
  assertAscendingUnique(ids);
  const texts = await bubbles(a.page);
  assert.deepEqual(texts, Array.from({ length: total }, (_, i) => label(i + 1)));
  // Besides the messages only alerts (joins; a leave/join pair if the reload outlasted the grace).
  assert.equal(ids.length - texts.length, await a.page.locator('.messages > li.alert').count());

  // Reading old messages: a new one raises the preview instead of moving the view.
  await feed.evaluate((el) => (el.scrollTop = 0));
  await friend.say('읽고 있어요?');
  const preview = a.page.locator('.new-preview');
  await preview.waitFor();
  assert.match(await preview.textContent(), /읽고 있어요\?/);
  await shot(a.page, 'new-message-preview');
  await preview.click();
  await preview.waitFor({ state: 'hidden' });
  assert.ok(await feed.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 100), 'feed scrolled to the bottom');

  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('each day of a conversation begins with a date line, in the reader\'s language', async () => {
  const a = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '이틀째 대화', capacity: 4 });
  const friend = await bot(server.url, url);
  for (const text of ['어제 1', '어제 2', '오늘 1']) await friend.say(text);
  await a.page.locator('.msg .bubble', { hasText: '오늘 1' }).waitFor();
  // A room lives a day, so its history often spans two dates. The server's clock cannot be
  // moved, so its history answers are moved instead: everything before "오늘 1" a day back.
  const dayMs = 24 * 3600 * 1000;
  await a.page.route(/\/chat\/messages\//, async (route) => {
    const res = await route.fetch();
    const env = await res.json();
    for (const m of env.data ?? []) {
      if (m.content !== '오늘 1') m.sentAt = new Date(Date.parse(m.sentAt) - dayMs).toISOString();
    }
    await route.fulfill({ response: res, json: env });
  });
  await a.page.reload();
  await waitConnected(a.page);
  await a.page.locator('.msg .bubble', { hasText: '오늘 1' }).waitFor();

  const lines = a.page.locator('.day-line');
  await a.page.waitForFunction(() => document.querySelectorAll('.day-line').length === 2);
  const firstOfDay = (i) => lines.nth(i).evaluate((el) => el.closest('li').textContent);
  assert.match(await firstOfDay(0), /입장했어요/, 'the first line opens the conversation');
  assert.match(await firstOfDay(1), /오늘 1/, 'the second line opens today');
  const want = (lang) => a.page.evaluate(([l, ms]) => {
    const f = new Intl.DateTimeFormat(l, { dateStyle: 'full' });
    return [f.format(new Date(Date.now() - ms)), f.format(new Date())];
  }, [lang, dayMs]);
  assert.deepEqual(await lines.allTextContents(), await want('ko'));
  await shot(a.page, 'day-lines');
  await a.page.locator('.panel button.lang').click();
  assert.deepEqual(await lines.allTextContents(), await want('en'));

  friend.close();
  assert.deepEqual(a.errors, []);
  await a.context.close();
});
