// The JavaScript SDK in headless Chromium, with its browser defaults: fetch, IndexedDB and a
// non-extractable WebCrypto device key. The page is served from its own origin, so every call
// to the Fount server is cross-origin, as on a real site.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { demo, launchChromium, staticServer, store } from './support.js';

const sampleSha256 = createHash('sha256').update(readFileSync(process.env.FOUNT_SAMPLE)).digest('hex');
const root = fileURLToPath(new URL('..', import.meta.url));

let server, browser, origin;

before(async () => {
  // The package's own files, and an empty page to run them in.
  ({ server, origin } = await staticServer(root, (path) => (path === '/' ? '<!doctype html><title>Fount SDK test</title>' : undefined)));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the whole path in Chromium, with a non-extractable key that survives a reload', async () => {
  const customer = `browser-${Date.now()}`;
  await store('POST', '/v1/entitlements', { customer, title: demo.title_id, kind: 'purchase' });
  const { token } = await store('POST', `/v1/customers/${customer}/tokens`);
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(origin + '/');

  const first = await page.evaluate(async ({ base, token, title }) => {
    const sdk = await import('/src/index.js');
    const client = await sdk.FountClient.create(base);
    await client.registerDevice(token, 'Chromium');
    await client.acquireLicense(token, title);
    const t = await client.openTitle(title);
    const length = t.tracks()[0].length;
    const bytes = new Uint8Array(length);
    for (let at = 0; at < length;) {
      const chunk = await t.read(0, at, 65536);
      bytes.set(chunk, at);
      at += chunk.length;
    }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const { privateKey } = await sdk.webCryptoKeyStore().keyPair();
    await t.savePosition(21.5);
    let wrongTitle;
    try {
      await client.acquireLicense(token, 'no-such-title');
    } catch (e) {
      wrongTitle = [e.name, e.code, e instanceof sdk.NotFoundError];
    }
    return {
      deviceId: client.deviceId,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
      extractable: privateKey.extractable,
      chapters: t.chapters().map((c) => c.title),
      wrongTitle,
    };
  }, { base: demo.base_url, token, title: demo.title_id });

  assert.equal(first.sha256, sampleSha256, 'decrypted in the browser, byte for byte');
  assert.equal(first.extractable, false, 'the device key cannot be read out');
  assert.deepEqual(first.chapters, ['The Spring', 'The Keeper', 'The Library']);
  assert.deepEqual(first.wrongTitle, ['NotFoundError', 'not_found', true]);

  // After a reload: the same device (its key is in IndexedDB), the license and the position.
  await page.reload();
  const second = await page.evaluate(async ({ base, title }) => {
    const sdk = await import('/src/index.js');
    const client = await sdk.FountClient.create(base);
    const t = await client.openTitle(title);
    return { deviceId: client.deviceId, licenses: (await client.licenses()).length, position: await t.position() };
  }, { base: demo.base_url, title: demo.title_id });
  assert.equal(second.deviceId, first.deviceId);
  assert.equal(second.licenses, 1);
  assert.equal(second.position, 21.5);
  assert.deepEqual(errors, []);
  await context.close();
});
