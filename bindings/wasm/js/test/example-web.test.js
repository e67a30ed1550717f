// examples/web in headless Chromium: the page opens a title with the SDK and plays it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { demo, launchChromium, staticServer, store } from './support.js';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));
let server, browser, origin;

before(async () => {
  // The example and the package it imports, from the repository.
  ({ server, origin } = await staticServer(repo, (path) => (
    path.startsWith('/examples/') || path.startsWith('/bindings/wasm/js/') ? undefined : false)));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('examples/web plays a title, chapters listed, audio advancing', async () => {
  const customer = `web-example-${Date.now()}`;
  await store('POST', '/v1/entitlements', { customer, title: demo.title_id, kind: 'purchase' });
  const { token } = await store('POST', `/v1/customers/${customer}/tokens`);
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  const query = new URLSearchParams({ server: demo.base_url, token, title: demo.title_id, autoplay: '1' });
  await page.goto(`${origin}/examples/web/?${query}`);
  await page.waitForFunction(() => document.querySelector('audio').currentTime > 1, null, { timeout: 20000 });
  const chapters = await page.$$eval('#chapters li', (items) => items.map((i) => i.textContent));
  assert.deepEqual(chapters, ['The Spring', 'The Keeper', 'The Library']);
  // Jump to the third chapter.
  await page.click('#chapters li:nth-child(3) button');
  await page.waitForFunction(() => document.querySelector('audio').currentTime > 25, null, { timeout: 10000 });
  assert.match(await page.textContent('#status'), /holds a license/);
  assert.deepEqual(errors, []);
  await page.close();
});

// Long titles through the packaged playback (the stream worker): the 100 MB MP3 (over three
// hours) and a 20-minute M4A, each sought to its last minute and played to the end at 16x.
for (const [kind, titleId] of [['a three-hour MP3', process.env.FOUNT_BIG_TITLE], ['an M4A', process.env.FOUNT_M4A_TITLE]]) {
  test(`examples/web plays ${kind} from its last minute to the end`, async () => {
    assert.ok(titleId, 'scripts/test-js.sh makes the long titles');
    const customer = `web-long-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await store('POST', '/v1/entitlements', { customer, title: titleId, kind: 'purchase' });
    const { token } = await store('POST', `/v1/customers/${customer}/tokens`);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    const query = new URLSearchParams({ server: demo.base_url, token, title: titleId, autoplay: '1' });
    await page.goto(`${origin}/examples/web/?${query}`);
    await page.waitForFunction(() => window.fountPlayback && document.querySelector('audio').currentTime > 0.5, null, { timeout: 20000 });
    const duration = await page.evaluate(() => window.fountPlayback.duration);
    assert.ok(duration > (kind === 'an M4A' ? 1100 : 7200), `${duration} s`);
    await page.evaluate(() => {
      const audio = document.querySelector('audio');
      audio.playbackRate = 16;
      window.fountPlayback.seek(window.fountPlayback.duration - 60);
    });
    await page.waitForFunction((d) => window.fountPlayback.currentTime > d - 61, duration, { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector('audio').ended, null, { timeout: 30000 });
    const end = await page.evaluate(() => window.fountPlayback.currentTime);
    assert.ok(end > duration - 2, `ended at ${end} of ${duration}`);
    // Whatever the element buffered, nothing stopped it: no error on the element or the page.
    assert.equal(await page.evaluate(() => document.querySelector('audio').error), null);
    assert.deepEqual(errors, []);
    await context.close();
  });
}
