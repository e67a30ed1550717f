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
