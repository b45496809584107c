// A room that expires while people are in it closes for them, and its link says so afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, launchBrowser, person, send, shot, startServer } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await startServer({ roomTtl: process.env.COLACHAT_TEST_SHORT_TTL || '12s' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the room closes when it expires and its link shows the expired screen', async () => {
  const a = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '금방 사라질 방', capacity: 2 });
  await send(a.page, '곧 만료돼요');
  // The countdown is live and the expiry moment is shown.
  assert.match(await a.page.locator('.countdown').textContent(), /초 남음|분 .*초 남음/);
  await a.page.locator('[data-screen="ROOM_EXPIRED"]').waitFor({ timeout: 90000 });
  assert.equal(await a.page.locator('h1').textContent(), '만료된 채팅방이에요');
  await shot(a.page, 'room-expired');

  const b = await person(browser, server.url);
  await b.page.goto(url);
  await b.page.locator('[data-screen="ROOM_EXPIRED"]').waitFor();
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});
