// examples/web in headless Chromium: the page opens a title with the SDK and plays it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const { chromium } = createRequire(import.meta.url)('playwright-core');
const demo = JSON.parse(readFileSync(process.env.FOUNT_DEMO_JSON, 'utf8'));
const repo = fileURLToPath(new URL('../../../..', import.meta.url));
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
let server, browser, origin;

before(async () => {
  server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const file = path.endsWith('/') ? `${path}index.html` : path;
    if (!file.startsWith('/examples/') && !file.startsWith('/bindings/wasm/js/')) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(await readFile(join(repo, file)));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('examples/web plays a title, chapters listed, audio advancing', async () => {
  const customer = `web-example-${Date.now()}`;
  const api = (path, body) => fetch(demo.base_url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${demo.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  await api('/v1/entitlements', { customer, title: demo.title_id, kind: 'purchase' });
  const { token } = await api(`/v1/customers/${customer}/tokens`, {});
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
