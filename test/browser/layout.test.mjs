// The page fits the screen: on a phone it is exactly as wide as the screen and a sideways
// swipe moves nothing; in 521–959 px windows nothing slides either; the closed room menu is
// out of sight; the "link copied" confirmation shows on screen.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRoom, launchBrowser, person, send, shot, startServer } from './harness.mjs';

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

/** Widths of the page as the browser lays it out. */
function widths(page) {
  return page.evaluate(() => ({
    inner: window.innerWidth,
    client: document.documentElement.clientWidth,
    scroll: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    visual: window.visualViewport.width,
  }));
}

/** Where things are horizontally: the page's scroll, the visual viewport, the chat's box. */
function horizontal(page) {
  return page.evaluate(() => ({
    scrollX: window.scrollX,
    viewportLeft: window.visualViewport.offsetLeft,
    chatX: document.querySelector('.chat').getBoundingClientRect().x,
    scrolled: [...document.querySelectorAll('.page, .chat, .chat-body, .chat-main')].map((e) => e.scrollLeft),
  }));
}

/** A one-finger drag across the screen at height y, from x0 to x1, as the phone's touch input makes it. */
async function swipe(page, y, x0, x1) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: x0, y }] });
  for (let i = 1; i <= 10; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: x0 + ((x1 - x0) * i) / 10, y }] });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await cdp.detach();
  await page.waitForTimeout(200); // a fling would continue meanwhile
}

test('phone: the page is exactly as wide as the screen, a sideways swipe moves nothing, the menu is hidden', async () => {
  const a = await person(browser, server.url, { viewport: { width: 390, height: 844 }, mobile: true });
  await createRoom(a.page, { title: '점심 뭐 먹지?', capacity: 2 });
  await send(a.page, '짜장면 vs 짬뽕');
  assert.deepEqual(await widths(a.page), { inner: 390, client: 390, scroll: 390, body: 390, visual: 390 });

  // The closed menu is out of sight and out of reach.
  const panel = a.page.locator('.panel');
  assert.equal(await panel.evaluate((el) => getComputedStyle(el).visibility), 'hidden');
  assert.equal(await panel.isVisible(), false);
  assert.equal(await a.page.evaluate(() => document.elementFromPoint(385, 400)?.closest('.panel')), null);

  const before = await horizontal(a.page);
  assert.deepEqual(before, { scrollX: 0, viewportLeft: 0, chatX: 0, scrolled: [0, 0, 0, 0] });
  // Right to left, what would reveal anything lying to the right of the screen, over the
  // header, the messages and the composer. (Left to right is the browser's own "back" gesture.)
  for (const [where, y] of [['header', 30], ['messages', 400], ['composer', 800]]) {
    await swipe(a.page, y, 350, 20);
    assert.deepEqual(await horizontal(a.page), before, `a swipe over the ${where} moved the page`);
  }
  await shot(a.page, 'chat-mobile');
  await a.page.emulateMedia({ colorScheme: 'dark' });
  await shot(a.page, 'chat-mobile-dark');
  await a.page.emulateMedia({ colorScheme: 'light' });

  // The menu is a drawer over the chat; Escape closes it.
  const menu = a.page.locator('.menu-btn');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await a.page.locator('.panel.open').waitFor();
  assert.equal(await panel.isVisible(), true);
  const box = await panel.boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390 + 0.5, `open drawer at ${JSON.stringify(box)}, want it on screen`);
  await shot(a.page, 'menu-mobile');
  await a.page.keyboard.press('Escape');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  await a.page.waitForFunction(() => getComputedStyle(document.querySelector('.panel')).visibility === 'hidden');
  assert.deepEqual(await widths(a.page), { inner: 390, client: 390, scroll: 390, body: 390, visual: 390 });
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('phone: "링크 복사" shows its confirmation on screen', async () => {
  const a = await person(browser, server.url, { viewport: { width: 390, height: 844 }, mobile: true });
  const url = await createRoom(a.page, { title: '링크 공유', capacity: 4 });
  await a.page.locator('.room-header button[aria-label="링크 복사"]').click();
  assert.equal(await a.page.evaluate(() => navigator.clipboard.readText()), url);
  const toast = a.page.locator('.toast.show', { hasText: '링크를 복사했어요' });
  await toast.waitFor();
  await a.page.waitForFunction(() => getComputedStyle(document.querySelector('.toast')).opacity === '1');
  // Inside what the screen shows (the visual viewport), not merely inside the page.
  const { box, view } = await a.page.evaluate(() => {
    const r = document.querySelector('.toast').getBoundingClientRect();
    const v = window.visualViewport;
    return {
      box: { left: r.left, top: r.top, right: r.right, bottom: r.bottom },
      view: { left: v.offsetLeft, top: v.offsetTop, right: v.offsetLeft + v.width, bottom: v.offsetTop + v.height },
    };
  });
  assert.deepEqual(view, { left: 0, top: 0, right: 390, bottom: 844 });
  assert.ok(box.left >= view.left && box.top >= view.top && box.right <= view.right && box.bottom <= view.bottom,
    `toast at ${JSON.stringify(box)}, screen shows ${JSON.stringify(view)}: want it inside`);
  await shot(a.page, 'copied-mobile');
  assert.deepEqual(a.errors, []);
  await a.context.close();
});

test('desktop windows 521–959 px wide: nothing wider than the window, nothing slides', async () => {
  for (const width of [521, 700, 959]) {
    const a = await person(browser, server.url, { viewport: { width, height: 760 } });
    await createRoom(a.page, { title: `창 너비 ${width}`, capacity: 4 });
    const w = await widths(a.page);
    assert.equal(w.scroll, width, `${width} px window: page ${JSON.stringify(w)}`);
    assert.equal(w.body, width, `${width} px window: body ${JSON.stringify(w)}`);
    const before = await horizontal(a.page);
    await a.page.mouse.move(width / 2, 400);
    await a.page.mouse.wheel(600, 0); // a sideways trackpad swipe
    await a.page.waitForTimeout(100);
    assert.deepEqual(await horizontal(a.page), before, `${width} px window: a sideways scroll moved the page`);
    assert.equal(await a.page.locator('.panel').isVisible(), false, `${width} px window: the closed menu shows`);
    assert.deepEqual(a.errors, []);
    await a.context.close();
  }
});
