// Two people in separate browsers: open a room, meet, chat, rename, see who is online, leave.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { alerts, bubbles, createRoom, enterRoom, launchBrowser, person, send, shot, startServer, waitConnected } from './harness.mjs';

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

test('two people chat, rename, see each other online and leave', async () => {
  const a = await person(browser, server.url);
  const b = await person(browser, server.url);

  await a.page.goto('/');
  await a.page.locator('#room-title').waitFor();
  await shot(a.page, 'home');
  const url = await createRoom(a.page, { title: '금요일 저녁 약속', capacity: 4 });
  assert.match(url, /\/chat\/[0-9a-f-]{8,}$/);
  await a.page.locator('.alert.kind-join').first().waitFor();
  const aNick = await a.page.locator('#nick-input').inputValue();
  // Your own arrival is about you, not announced to you in the third person.
  assert.equal(await a.page.locator('.alert.kind-join .alert-text').first().textContent(), `${aNick}로 입장했어요.`);
  // The conversation starts under a date line.
  await a.page.locator('.messages > li:first-child .day-line').waitFor();
  assert.match(await a.page.locator('.day-line').first().textContent(), /^\d{4}년 \d{1,2}월 \d{1,2}일 .요일$/);

  // The room link can be copied from the header.
  await a.page.locator('.room-header button[aria-label="링크 복사"]').click();
  assert.equal(await a.page.evaluate(() => navigator.clipboard.readText()), url);
  await a.page.locator('.toast.show', { hasText: '링크를 복사했어요' }).waitFor();

  await b.page.goto(url);
  await b.page.locator('form.enter').waitFor();
  assert.equal(await b.page.locator('.room-title').textContent(), '금요일 저녁 약속');
  await shot(b.page, 'enter-confirm');
  await enterRoom(b.page, url);

  // A sees B arrive; both see two people online.
  await a.page.locator('.alert.kind-join').nth(1).waitFor();
  const bNick = await b.page.locator('#nick-input').inputValue();
  assert.ok(bNick && aNick && bNick !== aNick, `nicknames: got ${aNick}, ${bNick}`);
  const aAlerts = await alerts(a.page);
  assert.deepEqual(aAlerts.slice(-1), [`${bNick}님이 입장했습니다.`]);
  await a.page.locator('.online li').nth(1).waitFor();
  assert.deepEqual(await a.page.locator('.online li .who').allTextContents(), [aNick, bNick]);
  assert.equal(await a.page.locator('.online li.me .who').textContent(), aNick);
  assert.equal(await b.page.locator('.online li.me .who').textContent(), bNick);
  assert.equal(await a.page.locator('.room-header .count').textContent(), '2/4');

  // Chat both ways; own messages on one side, others' with a nickname.
  await send(a.page, '안녕하세요!');
  await b.page.locator('.msg.theirs .bubble', { hasText: '안녕하세요!' }).waitFor();
  assert.equal(await b.page.locator('.msg.theirs .nick').first().textContent(), aNick);

  // Typing shows on the other side.
  await b.page.locator('#composer-input').pressSequentially('반가워');
  await a.page.locator('.typing', { hasText: `${bNick}님이 입력 중…` }).waitFor();
  await b.page.locator('#composer-input').fill('');

  // Shift+Enter breaks the line, Enter sends.
  const bInput = b.page.locator('#composer-input');
  await bInput.pressSequentially('반가워요 👋');
  await bInput.press('Shift+Enter');
  await bInput.pressSequentially('두 줄째');
  await bInput.press('Enter');
  await b.page.locator('.msg.mine .bubble', { hasText: '두 줄째' }).waitFor();
  assert.equal(await bInput.inputValue(), '');

  // Over 1,000 characters is refused in the page, with the counter showing why.
  await bInput.fill('가'.repeat(1001));
  assert.equal(await b.page.locator('.composer .counter').textContent(), '1001/1000');
  await b.page.locator('.composer .counter.over').waitFor();
  await bInput.press('Enter');
  await b.page.locator('.composer .form-error', { hasText: '1000자까지' }).waitFor();
  assert.equal((await bInput.inputValue()).length, 1001);
  await bInput.fill('');
  await a.page.locator('.msg.theirs .bubble', { hasText: '반가워요 👋' }).waitFor();
  assert.equal((await bubbles(a.page)).at(-1), '반가워요 👋\n두 줄째');

  // User text is never HTML.
  const evil = '<img src=x onerror=alert(1)>';
  await send(a.page, evil);
  await b.page.locator('.msg.theirs .bubble', { hasText: evil }).waitFor();
  assert.equal(await b.page.locator('.messages img').count(), 0);
  assert.equal((await bubbles(b.page)).at(-1), evil);
  await shot(a.page, 'chat-desktop');

  // Rename: the server announces it to both.
  await b.page.locator('#nick-input').fill('콜라러버');
  await b.page.locator('form.nick-form button[type=submit]').click();
  await a.page.locator('.alert.kind-rename').waitFor();
  assert.equal(await a.page.locator('.alert.kind-rename .alert-text').textContent(), `${bNick}님의 닉네임이 콜라러버로 변경되었습니다.`);
  await a.page.locator('.online li .who', { hasText: '콜라러버' }).waitFor();
  assert.equal(await b.page.locator('.alert.kind-rename').count(), 1);
  assert.equal(await b.page.locator('.alert.kind-rename .alert-text').textContent(), '닉네임을 콜라러버로 바꿨어요.');

  // English, switched in place: alerts follow the UI language.
  await a.page.locator('.panel button.lang').click();
  assert.equal(await a.page.locator('.alert.kind-rename .alert-text').textContent(), `${bNick} is now 콜라러버.`);
  assert.equal(await a.page.locator('html').getAttribute('lang'), 'en');
  await a.page.locator('.panel button.lang').click();

  // Leaving asks first; "취소" keeps you in.
  await b.page.locator('.panel button.danger').click();
  const dialog = b.page.locator('dialog.confirm[open]');
  await dialog.waitFor();
  assert.equal(await dialog.locator('h2').textContent(), '채팅방을 나갈까요?');
  assert.equal(await b.page.evaluate(() => document.activeElement?.getAttribute('value')), 'cancel', 'the safe choice has focus');
  await shot(b.page, 'leave-confirm');
  await dialog.locator('button[value=cancel]').click();
  await dialog.waitFor({ state: 'detached' }).catch(() => {});
  assert.equal(await b.page.locator('dialog.confirm[open]').count(), 0);
  await waitConnected(b.page);

  // B leaves for real: a goodbye screen, A is told and the online list shrinks.
  await b.page.locator('.panel button.danger').click();
  await dialog.locator('button[value=leave]').click();
  await b.page.locator('[data-screen="LEFT"]').waitFor();
  assert.equal(await b.page.locator('[data-screen="LEFT"] h1').textContent(), '채팅방에서 나왔어요');
  await shot(b.page, 'left');
  await b.page.locator('[data-screen="LEFT"] a.btn', { hasText: '처음으로' }).click();
  await b.page.locator('#room-title').waitFor();
  assert.equal(await b.page.locator('.my-rooms:not([hidden])').count(), 0, 'a room you left is not listed as yours');
  await a.page.locator('.alert.kind-leave').waitFor();
  assert.equal(await a.page.locator('.alert.kind-leave .alert-text').textContent(), '콜라러버님이 퇴장했습니다.');
  await a.page.waitForFunction(() => document.querySelectorAll('.online li').length === 1);

  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});

test('keyboard only: open a room and chat without a mouse; controls have names', async () => {
  const a = await person(browser, server.url);
  await a.page.goto('/');
  await a.page.locator('#room-title').waitFor();
  await a.page.locator('#room-title').focus();
  await a.page.keyboard.type('키보드 방');
  await a.page.keyboard.press('Tab'); // the capacity group, on its checked option (4)
  await a.page.keyboard.press('ArrowRight'); // 8
  await a.page.keyboard.press('Tab'); // the password checkbox
  await a.page.keyboard.press('Tab'); // the submit button
  await a.page.keyboard.press('Enter');
  await waitConnected(a.page);
  assert.equal(await a.page.locator('.room-header .count').textContent(), '1/8');

  // The composer has focus after entering; Enter sends.
  await a.page.keyboard.type('마우스 없이');
  await a.page.keyboard.press('Enter');
  await a.page.locator('.msg.mine .bubble', { hasText: '마우스 없이' }).waitFor();

  // What a screen reader finds.
  const named = [
    ['textbox', '메시지 입력'],
    ['button', '보내기'],
    ['button', '링크 복사'],
    ['link', '채팅방 목록'],
    ['textbox', '내 닉네임'],
    ['button', '채팅방 나가기'],
  ];
  for (const [role, name] of named) {
    assert.ok((await a.page.getByRole(role, { name, exact: true }).count()) >= 1, `${role} named ${name}`);
  }
  assert.equal(await a.page.getByRole('log').count(), 1);
  assert.deepEqual(a.errors, []);
  await a.context.close();
});
