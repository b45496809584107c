// Nicknames as people meet them: a rename to a name in use is refused and says why, a
// newcomer never gets the name of someone who just left, and English people get English
// names (the UI's language decides, whatever the browser's).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { alerts, bot, createRoom, enterRoom, launchBrowser, person, shot, startServer } from './harness.mjs';

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

const HANGUL = /[\uac00-\ud7af]/;
const ENGLISH_NAME = /^[A-Za-z][A-Za-z0-9 ]*$/;

test('a rename to a nickname someone in the room has is refused, and says why', async () => {
  const a = await person(browser, server.url);
  const b = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '닉네임 겹치기' });
  await enterRoom(b.page, url);
  const aNick = await a.page.locator('#nick-input').inputValue();
  const bNick = await b.page.locator('#nick-input').inputValue();

  await b.page.locator('#nick-input').fill(aNick);
  await b.page.locator('form.nick-form button[type=submit]').click();
  const error = b.page.locator('#nick-error');
  await error.filter({ hasText: '이미 쓰는 닉네임' }).waitFor();
  assert.equal(await error.textContent(), `이 채팅방에서 이미 쓰는 닉네임이에요: ${aNick}. 다른 닉네임을 골라 주세요.`);
  assert.equal(await b.page.locator('#nick-input').getAttribute('aria-invalid'), 'true');
  await shot(b.page, 'rename-taken');
  // The refusal speaks the reader's language.
  await b.page.locator('.panel button.lang').click();
  assert.equal(await error.textContent(), `Someone in this room already has that nickname: ${aNick}. Please choose another.`);
  await b.page.locator('.panel button.lang').click();

  // Nothing changed: no rename alert anywhere, both names as they were.
  await b.page.locator('#nick-input').fill('사이다');
  await b.page.locator('form.nick-form button[type=submit]').click();
  await a.page.locator('.alert.kind-rename').waitFor();
  assert.deepEqual((await alerts(a.page)).filter((t) => t.includes('변경')), [`${bNick}님의 닉네임이 사이다로 변경되었습니다.`]);
  assert.deepEqual(await a.page.locator('.online li .who').allTextContents(), [aNick, '사이다']);
  assert.equal(await error.textContent(), '');
  assert.deepEqual([...a.errors, ...b.errors], []);
  await a.context.close();
  await b.context.close();
});

test('a newcomer never gets the name of someone who just left', async () => {
  const a = await person(browser, server.url);
  const url = await createRoom(a.page, { title: '들락날락', capacity: 2 });
  const names = [await a.page.locator('#nick-input').inputValue()];
  // Six people come and go: as many as the original's names left free, so a picker that only
  // avoided the names online would now have to repeat one.
  for (let i = 0; i < 6; i++) {
    const visitor = await bot(server.url, url);
    names.push(visitor.me.nickname);
    visitor.close();
    await a.page.waitForFunction((n) => document.querySelectorAll('.alert.kind-leave').length === n, i + 1);
  }
  const c = await person(browser, server.url);
  await enterRoom(c.page, url);
  names.push(await c.page.locator('#nick-input').inputValue());
  assert.equal(new Set(names).size, names.length, `a name came back: ${names}`);
  // The feed never reads "X 입장 / 퇴장 / 입장" about two people.
  await a.page.locator('.alert.kind-join').nth(7).waitFor();
  const joins = (await alerts(a.page)).filter((t) => t.endsWith('님이 입장했습니다.'));
  assert.equal(new Set(joins).size, joins.length, `joins: ${joins}`);
  assert.deepEqual([...a.errors, ...c.errors], []);
  await a.context.close();
  await c.context.close();
});

test('English people get English nicknames, shown to Korean people in Korean; the UI language decides', async () => {
  const ko = await person(browser, server.url);
  const en = await person(browser, server.url, { locale: 'en-US' });
  const url = await createRoom(ko.page, { title: 'Language exchange', capacity: 4 });
  await en.page.goto(url);
  await en.page.locator('form.enter button[type=submit]', { hasText: 'Join' }).click();
  await en.page.locator('.room-header .status.connected').waitFor();
  const enNick = await en.page.locator('#nick-input').inputValue();
  assert.match(enNick, ENGLISH_NAME, `English person named ${enNick}`);
  await en.page.locator('.alert.kind-join', { hasText: `You joined as ${enNick}.` }).waitFor();
  await ko.page.locator('.alert.kind-join .alert-text', { hasText: `${enNick}님이 입장했습니다.` }).waitFor();
  await shot(en.page, 'chat-english');

  // An English browser whose person switched the page to Korean gets a Korean name, and the
  // reverse: the page's language, not the browser's, is what the server hears.
  const switchedToKo = await person(browser, server.url, { locale: 'en-US' });
  await switchedToKo.page.goto(url);
  await switchedToKo.page.locator('.topbar button.lang').click();
  await enterRoom(switchedToKo.page, url);
  const koNick = await switchedToKo.page.locator('#nick-input').inputValue();
  assert.match(koNick, HANGUL, `switched to Korean, named ${koNick}`);

  const switchedToEn = await person(browser, server.url);
  await switchedToEn.page.goto(url);
  await switchedToEn.page.locator('.topbar button.lang').click();
  await switchedToEn.page.locator('form.enter button[type=submit]', { hasText: 'Join' }).click();
  await switchedToEn.page.locator('.room-header .status.connected').waitFor();
  assert.match(await switchedToEn.page.locator('#nick-input').inputValue(), ENGLISH_NAME);
  for (const p of [ko, en, switchedToKo, switchedToEn]) {
    assert.deepEqual(p.errors, []);
    await p.context.close();
  }
});
