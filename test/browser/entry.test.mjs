// Entering by link: the password prompt, a full room, an unknown room and an expired room.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { bot, createRoom, launchBrowser, person, send, shot, startServer, waitConnected } from './harness.mjs';

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

test('a locked room asks for its password, says when it is wrong, and lets you retry', async () => {
  const owner = await person(browser, server.url);
  const guest = await person(browser, server.url);
  const url = await createRoom(owner.page, { title: '비밀 작전', capacity: 4, password: 'cola1234' });
  await owner.page.locator('.room-heading h1 svg').waitFor(); // the lock icon

  await guest.page.goto(url);
  await guest.page.locator('#enter-password').waitFor();
  await guest.page.locator('#enter-password').fill('pepsi');
  await guest.page.locator('form.enter button[type=submit]').click();
  await guest.page.locator('#enter-error', { hasText: '비밀번호가 올바르지 않습니다' }).waitFor();
  assert.equal(await guest.page.locator('#enter-password').getAttribute('aria-invalid'), 'true');
  assert.equal(await guest.page.locator('#composer-input').count(), 0);
  await shot(guest.page, 'enter-wrong-password');

  await guest.page.locator('#enter-password').fill('cola1234');
  await guest.page.locator('form.enter button[type=submit]').click();
  await waitConnected(guest.page);
  await owner.page.locator('.alert.kind-join').nth(1).waitFor();

  // A reload rejoins with the saved identity (no password asked) and keeps the history.
  await send(guest.page, '들어왔어요');
  const nick = await guest.page.locator('#nick-input').inputValue();
  await guest.page.reload();
  await waitConnected(guest.page);
  assert.equal(await guest.page.locator('#nick-input').inputValue(), nick);
  await guest.page.locator('.msg.mine .bubble', { hasText: '들어왔어요' }).waitFor();
  assert.equal(await guest.page.locator('.online li.me .who').textContent(), nick);

  // Home lists the rooms you are in; the link leads back without a password.
  await guest.page.locator('.room-header a[href="/"]').click();
  await guest.page.locator('.my-rooms a', { hasText: '비밀 작전' }).click();
  await waitConnected(guest.page);
  assert.equal(await guest.page.locator('#nick-input').inputValue(), nick);
  assert.deepEqual([...owner.errors, ...guest.errors], []);
  await owner.context.close();
  await guest.context.close();
});

test('a full room is flagged on the entry screen before any click, and opens when a place frees', async () => {
  const owner = await person(browser, server.url);
  const late = await person(browser, server.url);
  const url = await createRoom(owner.page, { title: '둘만의 대화', capacity: 2 });
  const friend = await bot(server.url, url);
  await owner.page.locator('.online li').nth(1).waitFor();

  await late.page.goto(url);
  await late.page.locator('form.enter').waitFor();
  const submit = late.page.locator('form.enter button[type=submit]');
  assert.equal(await submit.isDisabled(), true, 'the entry button of a full room is disabled');
  assert.equal(await submit.textContent(), '채팅방이 가득 찼어요');
  assert.equal(await late.page.locator('#enter-full').textContent(), '지금은 자리가 없어요. 누군가 나가면 바로 입장할 수 있어요.');
  assert.equal(await late.page.locator('.room-meta li.full').textContent(), '2명 대화 중');
  await shot(late.page, 'enter-full');

  // Someone leaves: the screen notices by itself and the button opens.
  friend.close();
  await late.page.locator('form.enter button[type=submit]:not([disabled])').waitFor({ timeout: 15000 });
  assert.equal(await submit.textContent(), '입장하기');
  assert.equal(await late.page.locator('#enter-full').textContent(), '');
  await submit.click();
  await waitConnected(late.page);
  await owner.page.locator('.online li').nth(1).waitFor();
  assert.deepEqual([...owner.errors, ...late.errors], []);
  await owner.context.close();
  await late.context.close();
});

test('a room that fills up between the entry screen and the click says so and offers a way back', async () => {
  const owner = await person(browser, server.url);
  const late = await person(browser, server.url);
  const url = await createRoom(owner.page, { title: '마지막 한 자리', capacity: 2 });
  await late.page.goto(url);
  await late.page.locator('form.enter button[type=submit]:not([disabled])').waitFor();
  const friend = await bot(server.url, url); // takes the last place meanwhile
  await late.page.locator('form.enter button[type=submit]').click();
  await late.page.locator('[data-screen="ROOM_FULL"]').waitFor();
  assert.equal(await late.page.locator('h1').textContent(), '채팅방이 가득 찼어요');
  await shot(late.page, 'room-full');
  await late.page.locator('[data-screen="ROOM_FULL"] a.btn').click();
  await late.page.waitForURL(/\/$/);
  await late.page.locator('#room-title').waitFor();
  assert.equal(await late.page.locator('.my-rooms:not([hidden])').count(), 0, 'a room never entered is not listed');
  friend.close();
  await owner.context.close();
  await late.context.close();
});

test('an unknown room shows a not-found screen', async () => {
  const p = await person(browser, server.url);
  await p.page.goto('/chat/00000000-0000-4000-8000-000000000000');
  await p.page.locator('[data-screen="ROOM_NOT_FOUND"]').waitFor();
  assert.equal(await p.page.locator('h1').textContent(), '채팅방을 찾을 수 없어요');
  await shot(p.page, 'room-not-found');
  await p.context.close();
});

test('English browsers get English', async () => {
  const p = await person(browser, server.url, { locale: 'en-US' });
  await p.page.goto('/');
  assert.equal(await p.page.locator('#home-heading').textContent(), 'Open a chat room');
  assert.equal(await p.page.locator('html').getAttribute('lang'), 'en');
  await shot(p.page, 'home-english');
  await p.context.close();
});
