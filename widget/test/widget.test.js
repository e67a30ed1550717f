// The widget in headless Chromium against a live `fount-server demo`: a store's page with the
// snippet, the buy flow through the demo's test checkout, playback, chapters, speed, resume,
// another customer, an origin the store did not allow, and a browser that refuses storage to
// framed players. Screenshots go to artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createRequire } from 'node:module';

import {
  CHAPTERS, audioState, demo, errorResponses, grant, launch, newPage, player, realStore, sample, screenshots, startStore,
  storeApi, tokenFor, waitAudio, waitEvent, wireBytes,
} from './support.js';

const { PNG } = createRequire(import.meta.url)('pngjs');

const artifacts = fileURLToPath(new URL('../../artifacts/', import.meta.url));
mkdirSync(artifacts, { recursive: true });

let browser, store;
before(async () => {
  store = await startStore();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  store?.server.close();
});

/** A new visitor of the example store page, at the Buy button. */
async function visitor(viewport) {
  const page = await newPage(browser, viewport);
  await page.goto(`${store.origin}/`);
  await waitEvent(page, 'ready', 'buy');
  return page;
}

/** Buys the title through the demo's test checkout; resolves when the player shows. */
async function buy(page) {
  const frame = page.frameLocator('iframe');
  const [checkout] = await Promise.all([page.waitForEvent('popup'), frame.getByRole('button', { name: 'Buy' }).click()]);
  await checkout.getByRole('button', { name: /Pay/ }).click();
  await waitEvent(page, 'purchased');
  await waitEvent(page, 'ready', 'player');
}

test('the snippet on a static page loads the player from the server, sized to its content', async () => {
  const page = await visitor();
  const iframe = page.locator('[data-fount-title] > iframe');
  assert.equal(new URL(await iframe.getAttribute('src')).origin, demo.base_url);
  const frame = page.frameLocator('iframe');
  await frame.getByRole('heading', { name: 'The Fount Sampler' }).waitFor();
  const contentHeight = await player(page).evaluate(() => document.documentElement.scrollHeight);
  const frameHeight = (await iframe.boundingBox()).height;
  assert.ok(Math.abs(frameHeight - contentHeight) <= 2, `frame ${frameHeight}px for content ${contentHeight}px`);
  // The loader stays small: the budget is 5 KB as sent, gzipped.
  const loader = await wireBytes(`${demo.base_url}/widget.js`, 'gzip');
  assert.equal(loader.encoding, 'gzip');
  assert.ok(loader.bytes <= 5 * 1024, `the loader is ${loader.bytes} bytes on the wire`);
  await page.context().close();
});

test('a customer without the title sees its price and Buy; the test checkout entitles them', async () => {
  const page = await newPage(browser, { width: 375, height: 700 });
  // Normal states (not bought yet, nothing listened to yet) are answers, not errors: a new
  // visitor's console shows no failed request, through buying and the first play.
  const failed = errorResponses(page);
  await page.goto(`${store.origin}/`);
  await waitEvent(page, 'ready', 'buy');
  const frame = page.frameLocator('iframe');
  assert.match(await frame.locator('.price').textContent(), /4\.99/);
  assert.ok(await frame.locator('.cover').isVisible());
  assert.ok(!(await frame.locator('.player').isVisible()));
  await page.screenshot({ path: `${artifacts}widget-phone-buy.png`, fullPage: true });
  await buy(page);
  assert.ok(await frame.locator('.player').isVisible());
  assert.ok(!(await frame.locator('.buy').isVisible()));
  await page.screenshot({ path: `${artifacts}widget-phone-player.png`, fullPage: true });
  assert.deepEqual(failed, []);
  await page.context().close();
});

test('play starts and currentTime advances, through the service worker; chapters, speed, keys and events work', async () => {
  const page = await visitor({ width: 1280, height: 800 });
  await buy(page);
  const frame = player(page);
  const ui = page.frameLocator('iframe');
  await ui.getByRole('button', { name: 'Play' }).click();
  await waitEvent(page, 'play');
  const playing = await waitAudio(frame, (a) => !a.paused && a.time > 1, 'playback advances');
  // Decrypted by the service worker, on the player's own origin; never a URL the server serves.
  assert.match(playing.src, /\/widget\/stream\/fount-sampler\/0$/);
  assert.ok(await frame.evaluate(() => navigator.serviceWorker.controller !== null));
  await page.screenshot({ path: `${artifacts}widget-desktop-player.png` });

  // Chapter 2 from the chapter list lands at its start.
  await ui.getByRole('button', { name: 'Chapters' }).click();
  await ui.getByRole('button', { name: /^The Keeper/ }).click();
  const atChapter = await waitAudio(frame, (a) => a.time >= CHAPTERS[1] - 0.01 && a.time < CHAPTERS[1] + 1.5, 'chapter 2');
  assert.ok(atChapter.time - CHAPTERS[1] < 1.5, `at ${atChapter.time}`);
  assert.equal(await ui.locator('.chapter').textContent(), 'The Keeper');

  // 2x: the position advances about twice as fast as the wall clock, at the same pitch.
  await ui.getByLabel('Playback speed').selectOption('2');
  await frame.evaluate(() => { document.querySelector('audio').currentTime = 1; });
  await waitAudio(frame, (a) => a.rate === 2 && a.time >= 1 && a.time < 3 && !a.paused, 'rate 2');
  const t0 = await audioState(frame);
  const wall0 = Date.now();
  await new Promise((r) => setTimeout(r, 4000));
  const t1 = await audioState(frame);
  const ratio = (t1.time - t0.time) / ((Date.now() - wall0) / 1000);
  assert.ok(ratio > 1.6 && ratio < 2.4, `advanced ${ratio.toFixed(2)}x wall time`);
  assert.equal(t1.pitch, true);

  // The host page's element API and the events it sees.
  await page.evaluate(() => document.querySelector('[data-fount-title]').fount.pause());
  await waitEvent(page, 'pause');
  await page.evaluate(() => document.querySelector('[data-fount-title]').fount.seek(36.5));
  await waitAudio(frame, (a) => a.paused && a.time > 36, 'seek through the element API');
  await page.evaluate(() => document.querySelector('[data-fount-title]').fount.play());
  await waitEvent(page, 'ended');

  // Keyboard: K plays and pauses, J goes back 15 s, ] speeds up.
  await ui.getByLabel('Playback speed').selectOption('1');
  await page.evaluate(() => document.querySelector('[data-fount-title]').fount.seek(20));
  await ui.locator('main').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('k');
  await waitAudio(frame, (a) => !a.paused, 'K plays');
  await page.keyboard.press('j');
  await waitAudio(frame, (a) => a.time < 10, 'J goes back 15 s');
  await page.keyboard.press(']');
  await waitAudio(frame, (a) => a.rate === 1.25, '] speeds up');
  await page.keyboard.press('k');
  await waitAudio(frame, (a) => a.paused, 'K pauses');

  // Every control has a name for screen readers; Media Session knows the title.
  const unnamed = await frame.evaluate(() => [...document.querySelectorAll('button, input, select')]
    .filter((el) => el.offsetParent && !(el.getAttribute('aria-label') || el.textContent.trim())).map((el) => el.outerHTML));
  assert.deepEqual(unnamed, []);
  assert.equal(await frame.evaluate(() => navigator.mediaSession.metadata?.title), 'The Fount Sampler');

  // Messages that do not come from the player's frame are not the widget's events.
  await page.evaluate(() => window.postMessage({ type: 'fount:purchased', title: 'forged' }, '*'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await page.evaluate(() => window.fountEvents.filter((e) => e.type === 'purchased').length), 1);
  await page.context().close();
});

test('no URL the host page can reach serves decrypted audio', async () => {
  const page = await visitor();
  await buy(page);
  // The stream URLs exist only inside the player's service worker: the server has none…
  assert.equal((await fetch(`${demo.base_url}/widget/stream/fount-sampler/0`)).status, 404);
  // …and a tab opened on one gets no audio either.
  const tab = await page.context().newPage();
  const response = await tab.goto(`${demo.base_url}/widget/stream/fount-sampler/0`);
  assert.notEqual(response.status(), 200);
  assert.doesNotMatch(response.headers()['content-type'] ?? '', /audio/);
  // What the server does serve is sealed: none of the MP3 shows through.
  const manifest = await (await fetch(demo.manifest_url)).json();
  const sealed = Buffer.from(await (await fetch(new URL(manifest.readingOrder[0].href, demo.manifest_url))).arrayBuffer());
  assert.notEqual(sealed.subarray(0, 3).toString(), 'ID3');
  assert.equal(sealed.indexOf(sample.subarray(4096, 4096 + 64)), -1);
  await page.context().close();
});

test('a reload resumes at the saved position, and so does another device of the same customer', async () => {
  await grant('carol');
  const page = await newPage(browser);
  await page.goto(`${store.origin}/shop?user=carol`);
  await waitEvent(page, 'ready', 'player');
  const frame = player(page);
  await page.evaluate(() => document.querySelector('#w').fount.seek(21));
  await page.evaluate(() => document.querySelector('#w').fount.play());
  await waitAudio(frame, (a) => !a.paused && a.time > 22, 'playing from 21 s');
  await page.evaluate(() => document.querySelector('#w').fount.pause());
  const paused = await waitAudio(frame, (a) => a.paused, 'paused');
  // Saved on the server for this customer.
  const token = await tokenFor('carol');
  // The player saves while it plays and again on pause: wait for the pause's save.
  let saved;
  for (let i = 0; i < 50 && !(Math.abs(saved - paused.time) < 0.5); i += 1) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    const r = await fetch(`${demo.base_url}/v1/me/positions/${demo.title_id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    saved = (await r.json()).seconds;
  }
  assert.ok(Math.abs(saved - paused.time) < 0.5, `saved ${saved}, paused at ${paused.time}`);

  await page.reload();
  await waitEvent(page, 'ready', 'player');
  const resumed = await audioState(player(page));
  assert.ok(Math.abs(resumed.time - saved) < 0.5, `resumed at ${resumed.time}, saved ${saved}`);
  await page.context().close();

  // A new browser profile is a new device of the same customer.
  const other = await newPage(browser, { width: 320, height: 640 });
  await other.goto(`${store.origin}/shop?user=carol&theme=dark`);
  await waitEvent(other, 'ready', 'player');
  const there = await audioState(player(other));
  assert.ok(Math.abs(there.time - saved) < 0.5, `on the other device at ${there.time}, saved ${saved}`);
  // 320 px wide, dark theme: nothing overflows.
  const layout = await player(other).evaluate(() => ({
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    theme: document.documentElement.dataset.theme,
    background: getComputedStyle(document.querySelector('.fount')).backgroundColor,
  }));
  assert.equal(layout.overflow, 0);
  assert.equal(layout.theme, 'dark');
  assert.equal(layout.background, 'rgb(22, 22, 26)');
  await other.screenshot({ path: `${artifacts}widget-320-dark.png`, fullPage: true });
  const devices = await storeApi('GET', '/v1/customers/carol/devices');
  assert.equal(devices.items.filter((d) => d.status === 'active').length, 2);
  await other.context().close();
});

test("a real store: signed out, Buy asks the page to sign in; signed in, its own checkout and its backend's grant unlock the player", async () => {
  const title = await realStore(store.origin);
  const visitor = await newPage(browser);
  const failed = errorResponses(visitor);
  await visitor.goto(`${store.origin}/shop?store=real`);
  await waitEvent(visitor, 'ready', 'buy');
  const ui = visitor.frameLocator('iframe');
  assert.match(await ui.locator('.price').textContent(), /\$6\.00/);
  assert.match(await ui.locator('.buy .note').textContent(), /Sign in/);
  await screenshots(visitor, artifacts, 'signed-out');
  // Buy, signed out: no checkout opens (its payment could name nobody); the page is asked.
  let popups = 0;
  visitor.on('popup', () => { popups += 1; });
  await ui.getByRole('button', { name: 'Buy' }).click();
  assert.equal((await waitEvent(visitor, 'signin-required')).detail.title, title);
  assert.match(await ui.locator('.buy .note').textContent(), /Sign in to the store first/);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(popups, 0);
  // The page signs its visitor in and tells the player; Buy now goes to the checkout, naming them.
  await visitor.evaluate(() => {
    const el = document.querySelector('#w');
    el.setAttribute('data-fount-token-url', '/api/fount-token?user=jo&store=real');
    el.fount.refresh();
  });
  await player(visitor).waitForFunction(() => !/Sign in/.test(document.querySelector('.buy .note').textContent));
  const [signedIn] = await Promise.all([visitor.waitForEvent('popup'), ui.getByRole('button', { name: 'Buy' }).click()]);
  assert.equal(Buffer.from(new URL(signedIn.url()).searchParams.get('client_reference_id'), 'base64url').toString(), 'jo');
  await signedIn.close();
  assert.deepEqual(failed, []);
  await visitor.context().close();

  const page = await newPage(browser);
  await page.goto(`${store.origin}/shop?store=real&user=gina`);
  await waitEvent(page, 'ready', 'buy');
  const [checkout] = await Promise.all([page.waitForEvent('popup'), page.frameLocator('iframe').getByRole('button', { name: 'Buy' }).click()]);
  const opened = new URL(checkout.url());
  assert.equal(`${opened.origin}${opened.pathname}`, `${store.origin}/checkout`);
  assert.equal(Buffer.from(opened.searchParams.get('client_reference_id'), 'base64url').toString(), 'gina');
  await checkout.getByRole('button', { name: 'Pay' }).click();
  await waitEvent(page, 'purchased');
  await waitEvent(page, 'ready', 'player');
  const granted = await storeApi('GET', '/v1/entitlements?customer=gina', undefined, 'real');
  assert.deepEqual(granted.items.map((e) => e.title), [title]);
  await page.context().close();
});

test('without a service worker the player decrypts into a blob: URL and still plays', async () => {
  await grant('frank');
  const page = await newPage(browser, undefined, { serviceWorkers: 'block' });
  await page.goto(`${store.origin}/shop?user=frank`);
  await waitEvent(page, 'ready', 'player');
  const frame = player(page);
  await page.frameLocator('iframe').getByRole('button', { name: 'Play' }).click();
  const playing = await waitAudio(frame, (a) => !a.paused && a.time > 1, 'playback advances');
  assert.match(playing.src, /^blob:/);
  await page.context().close();
});

test('another customer cannot play', async () => {
  const page = await newPage(browser);
  await page.goto(`${store.origin}/shop?user=dave`);
  await waitEvent(page, 'ready', 'buy');
  await page.evaluate(() => document.querySelector('#w').fount.play());
  await new Promise((r) => setTimeout(r, 500));
  const state = await audioState(player(page));
  assert.equal(state.paused, true);
  assert.equal(state.src, '');
  assert.ok(!(await page.frameLocator('iframe').locator('.player').isVisible()));
  await page.context().close();
});

test('a player added later, as a custom element, boots', async () => {
  const page = await newPage(browser);
  await page.goto(`${store.origin}/later`);
  await waitEvent(page, 'ready', 'buy');
  assert.equal(await page.locator('fount-player > iframe').count(), 1);
  await page.context().close();
});

test('a page on an origin the store did not allow says so in place of the player, with an error event', async () => {
  const page = await newPage(browser);
  await page.goto(`${store.otherOrigin}/`);
  const error = await waitEvent(page, 'error');
  assert.equal(error.detail.code, 'origin-not-allowed');
  const shown = page.locator('[data-fount-title] [role="status"]');
  await shown.waitFor();
  // The browser still enforces it: no frame of the player is left on the page.
  assert.equal(page.frames().filter((f) => f.url().startsWith(`${demo.base_url}/widget/player`)).length, 0);
  assert.equal(await page.evaluate(() => window.fountEvents.filter((e) => e.type === 'error').length), 1);
  await screenshots(page, artifacts, 'origin-not-allowed');
  // A title that does not exist, on an allowed page, says so too.
  const missing = await newPage(browser);
  await missing.goto(`${store.origin}/missing`);
  assert.equal((await waitEvent(missing, 'error')).detail.code, 'title-not-found');
  await page.context().close();
  await missing.context().close();
});

test("the dark theme on a light page draws the card only, not a rectangle around it", async () => {
  await grant('hana');
  const page = await newPage(browser, { width: 600, height: 700 });
  await page.goto(`${store.origin}/shop?user=hana&theme=dark`);
  await waitEvent(page, 'ready', 'player');
  const png = PNG.sync.read(await page.locator('iframe').screenshot());
  const pixel = (x, y) => [...png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)];
  // The corner, outside the card's rounded border, is the host page's white...
  assert.deepEqual(pixel(1, 1), [255, 255, 255]);
  // ...and inside, the card is dark.
  assert.deepEqual(pixel(Math.floor(png.width / 2), 40).map((c) => c < 60), [true, true, true]);
  await screenshots(page, artifacts, 'dark-on-light');
  await page.context().close();
});

test('a title not on sale shows no Buy button', async () => {
  await realStore(store.origin);
  const page = await newPage(browser);
  const failed = errorResponses(page);
  await page.goto(`${store.origin}/shop?store=unsold&user=ivan`);
  await waitEvent(page, 'ready', 'buy');
  const ui = page.frameLocator('iframe');
  assert.equal(await ui.getByRole('button', { name: 'Buy' }).count(), 0);
  assert.equal(await ui.locator('.buy-button').isVisible(), false);
  assert.match(await ui.locator('.buy .note').textContent(), /not on sale/);
  assert.deepEqual(failed, []);
  await screenshots(page, artifacts, 'not-on-sale');
  await page.context().close();
});

test('at the device limit, the account view removes a device and the title unlocks here', async () => {
  await grant('lena');
  const token = await tokenFor('lena');
  const { device_limit: limit } = await storeApi('GET', '/v1/store');
  const me = (method, path, body) => fetch(demo.base_url + path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  }).then(async (r) => { assert.ok(r.ok, `${method} ${path}: ${r.status}`); return r.json(); });
  for (let i = 0; i < limit; i += 1) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
    await me('POST', '/v1/me/devices', { jwk: { kty, crv, x, y }, name: i === 0 ? 'Old phone' : `Speaker ${i}` });
  }
  const page = await newPage(browser);
  await page.goto(`${store.origin}/shop?user=lena`);
  const error = await waitEvent(page, 'error');
  assert.equal(error.detail.code, 'device_limit_reached');
  const ui = page.frameLocator('iframe');
  assert.match(await ui.locator('.message').textContent(), /Remove one you no longer use/);
  await screenshots(page, artifacts, 'device-limit');
  await ui.getByRole('button', { name: 'Manage devices' }).click();
  await waitEvent(page, 'ready', 'account');
  const names = await ui.locator('.devices .device-name').allTextContents();
  assert.deepEqual(names.sort(), ['Old phone', ...Array.from({ length: limit - 1 }, (_, i) => `Speaker ${i + 1}`)].sort());
  await screenshots(page, artifacts, 'account');
  await ui.getByRole('button', { name: 'Remove Old phone' }).click();
  const removed = await waitEvent(page, 'device-removed');
  await waitEvent(page, 'ready', 'player');
  const left = await me('GET', '/v1/me/devices');
  assert.equal(left.items.length, limit);
  assert.ok(!left.items.some((d) => d.id === removed.detail.device), 'the removed device is gone');
  assert.ok(left.items.some((d) => d.name.startsWith('Web player')), 'this browser took its place');
  await page.context().close();
});

test('the demo page fits a phone', async () => {
  const page = await newPage(browser, { width: 360, height: 740 });
  await page.goto(`${demo.base_url}/demo`);
  await waitEvent(page, 'ready');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.equal(overflow, 0, 'the demo page is wider than the phone');
  await screenshots(page, artifacts, 'demo-page');
  await page.context().close();
});

test('a browser that refuses storage to framed players plays in its own tab', async () => {
  const strict = await launch({ thirdPartyStorage: false });
  try {
    const page = await newPage(strict);
    await page.goto(`${store.origin}/shop?user=erin`);
    await waitEvent(page, 'ready', 'elsewhere');
    await grant('erin');
    const [tab] = await Promise.all([
      page.waitForEvent('popup'),
      page.frameLocator('iframe').getByRole('button', { name: 'Listen in a new tab' }).click(),
    ]);
    // The tab gets erin's token from the store's page, through the frame, and its events
    // reach the store's page the same way.
    await waitEvent(page, 'ready', 'player');
    await tab.getByRole('button', { name: 'Play' }).click();
    await waitEvent(page, 'play');
  } finally {
    await strict.close();
  }
});
