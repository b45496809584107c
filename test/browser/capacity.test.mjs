// The create form offers the room sizes this server allows (GET /chat/limits): up to 1,000 by
// default, fewer on a server started with a lower --max-capacity.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, launchBrowser, person, startServer } from './harness.mjs';

let browser;
const servers = [];
before(async () => { browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
});

const offered = (page) => page.locator('input[name=capacity]').evaluateAll((els) => els.map((e) => Number(e.value)));

test('by default the form offers rooms of up to 1,000 people, and such a room is created', async () => {
  const server = await startServer();
  servers.push(server);
  const p = await person(browser, server.url);
  await p.page.goto('/');
  await p.page.locator('label[for="cap-1000"]').waitFor();
  assert.deepEqual(await offered(p.page), [2, 4, 8, 16, 50, 100, 500, 1000]);
  await createRoom(p.page, { title: '큰 방', capacity: 1000, here: true });
  const roomId = new URL(p.page.url()).pathname.split('/').pop();
  const res = await fetch(`${server.url}/chat/rooms/${roomId}`);
  assert.equal((await res.json()).data.capacity, 1000);
});

test('a server with --max-capacity 16 offers only the sizes it allows', async () => {
  const server = await startServer({ extraArgs: ['--max-capacity', '16'] });
  servers.push(server);
  const p = await person(browser, server.url);
  await p.page.goto('/');
  await p.page.waitForFunction(() => !document.querySelector('label[for="cap-50"]'));
  assert.deepEqual(await offered(p.page), [2, 4, 8, 16]);
});
