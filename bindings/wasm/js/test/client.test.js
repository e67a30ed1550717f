// The JavaScript SDK in Node against a live `fount-server demo`: the whole path and the
// errors. scripts/test-js.sh starts the server and sets FOUNT_DEMO_JSON and FOUNT_SAMPLE.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  FountClient, FountError, NetworkError, NotEntitledError, NotLicensedError, RevokedError,
  UnauthorizedError, WrongDeviceError, DeviceNotRegisteredError, InvalidInputError, ReturnedError,
  DeviceRemovalTooSoonError, KeyStoreError, TamperedError,
  fetchTransport, memoryStorage, webCryptoKeyStore,
} from '../src/index.js';
import { demo, store } from './support.js';

const sample = new Uint8Array(readFileSync(process.env.FOUNT_SAMPLE));
const title = demo.title_id;
// The server's sealed chunks: 16 KiB of audio and a 16-byte tag each.
const CHUNK = 16 * 1024;
const STRIDE = CHUNK + 16;

async function customer(name) {
  const id = `js-${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return { id, token: (await store('POST', `/v1/customers/${id}/tokens`)).token };
}
const grant = (id) => store('POST', '/v1/entitlements', { customer: id, title, kind: 'purchase' });

async function readAll(t) {
  const length = t.tracks()[0].length;
  const parts = [];
  let at = 0;
  while (at < length) {
    const chunk = await t.read(0, at, 100_000);
    parts.push(chunk);
    at += chunk.length;
  }
  return Buffer.concat(parts);
}

const offline = { send: async () => { throw new Error('offline'); } };

test('whole path: register, acquire, open, read identical bytes, offline', async () => {
  const { id, token } = await customer('path');
  const storage = memoryStorage();
  const keyStore = webCryptoKeyStore();
  const client = await FountClient.create(demo.base_url, { storage, keyStore });
  const device = await client.registerDevice(token, 'node');
  assert.equal(device.id, client.deviceId);
  await assert.rejects(client.acquireLicense(token, title), NotEntitledError);
  await grant(id);
  const license = await client.acquireLicense(token, title);
  assert.equal(license.status, 'active');
  assert.deepEqual(await client.licenses(), [license]);

  const t = await client.openTitle(title);
  assert.equal(t.name, 'The Fount Sampler');
  assert.deepEqual(t.chapters().map((c) => c.title), ['The Spring', 'The Keeper', 'The Library']);
  assert.equal(t.tracks()[0].mediaType, 'audio/mpeg');
  assert.deepEqual(await t.read(0, 1000, 5000), sample.subarray(1000, 6000));
  assert.ok(Buffer.from(await readAll(t)).equals(Buffer.from(sample)));

  await t.download();
  const cut = await FountClient.create(demo.base_url, { storage, keyStore, transport: offline });
  const o = await cut.openTitle(title);
  assert.ok(o.isDownloaded);
  assert.ok(Buffer.from(await readAll(o)).equals(Buffer.from(sample)));
  await o.savePosition(30.25);
  assert.equal(await o.position(), 30.25);
  const mark = await o.addBookmark(14, 'keeper');
  assert.equal(mark.chapter, 'The Keeper');
  assert.deepEqual((await o.bookmarks()).map((b) => b.id), [mark.id]);
  assert.equal(await o.removeBookmark(mark.id), true);
  assert.equal(o.locate(26).chapter, 2);
  await assert.rejects(cut.checkStatus(license.id), NetworkError);
});

/** Runs `f` as in an insecure context, which has no WebCrypto: the core decrypts in wasm. */
async function withoutWebCrypto(f) {
  const crypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  try {
    return await f();
  } finally {
    Object.defineProperty(globalThis, 'crypto', crypto);
  }
}

test('reads open with WebCrypto or in wasm alike, and both refuse a tampered chunk', async () => {
  const { id, token } = await customer('tamper');
  await grant(id);
  const honest = fetchTransport();
  let tamper = false;
  // Flips one bit in the second chunk of every sealed range while `tamper` is set.
  const transport = {
    async send(request) {
      const response = await honest.send(request);
      if (tamper && response.status === 206 && response.body.length > 2 * STRIDE) response.body[STRIDE + 1000] ^= 1;
      return response;
    },
  };
  const client = await FountClient.create(demo.base_url, { storage: memoryStorage(), keyStore: webCryptoKeyStore(), transport });
  await client.registerDevice(token, 'node');
  await client.acquireLicense(token, title);
  const t = await client.openTitle(title);
  // Across nine chunks, starting inside the first.
  const want = sample.subarray(1000, 140_000);
  assert.deepEqual(await t.read(0, 1000, 139_000), want);
  assert.deepEqual(await withoutWebCrypto(() => t.read(0, 1000, 139_000)), want);
  // At the very end: cut short, and nothing past it.
  const end = sample.length;
  assert.deepEqual(await t.read(0, end - 10, 100), sample.subarray(end - 10));
  assert.deepEqual(await withoutWebCrypto(() => t.read(0, end - 10, 100)), sample.subarray(end - 10));
  tamper = true;
  for (const e of [await t.read(0, 1000, 139_000).catch((err) => err), await withoutWebCrypto(() => t.read(0, 1000, 139_000).catch((err) => err))]) {
    assert.ok(e instanceof TamperedError, String(e));
    assert.equal(e.code, 'tampered');
    assert.match(e.message, /chunk 1 failed authentication/);
  }
});

/** Every byte of `stream`, or its error. */
async function drain(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => { out.set(p, at); return at + p.length; }, 0);
  return out;
}

test('a streamed read opens each chunk as it arrives, and refuses a tampered or cut answer', async () => {
  const { id, token } = await customer('stream');
  await grant(id);
  const honest = fetchTransport();
  // What the next streamed answer does to the sealed bytes after byte `at`: hold them until
  // `release` is called, flip a bit, end the answer there, or fail there; or, with `whole`,
  // it is what a server that ignores ranges sends (the whole file, 200), and with
  // `unreachable`, none.
  let mode = null;
  let release;
  const sent = [];
  const transport = {
    send: (request) => { sent.push(request.headers.find((h) => h.name === 'range')?.value); return honest.send(request); },
    async stream(request) {
      if (mode === 'unreachable') throw new TypeError('fetch failed');
      const whole = mode === 'whole';
      const response = await honest.stream(whole ? { ...request, headers: [] } : request);
      if (!mode || whole) return response;
      const at = STRIDE + 1000;
      let seen = 0;
      const how = mode;
      const gate = new Promise((resolve) => { release = resolve; });
      const body = response.body.pipeThrough(new TransformStream({
        async transform(part, controller) {
          const before = seen;
          seen += part.length;
          if (seen <= at) return controller.enqueue(part);
          if (how === 'hold') {
            controller.enqueue(part.subarray(0, Math.max(0, at - before)));
            await gate;
            return controller.enqueue(part.subarray(Math.max(0, at - before)));
          }
          if (how === 'flip') {
            const copy = part.slice();
            copy[Math.max(0, at - before)] ^= 1;
            return controller.enqueue(copy);
          }
          controller.enqueue(part.subarray(0, Math.max(0, at - before)));
          if (how === 'fail') return controller.error(new TypeError('network connection lost'));
          controller.terminate();
        },
      }));
      return { ...response, body };
    },
  };
  const client = await FountClient.create(demo.base_url, { storage: memoryStorage(), keyStore: webCryptoKeyStore(), transport });
  await client.registerDevice(token, 'node');
  await client.acquireLicense(token, title);
  const t = await client.openTitle(title);
  const want = sample.subarray(1000, 140_000);

  // Across nine chunks, starting inside the first, in one request: through `send` only
  // the track's 68-byte header, fetched once.
  sent.length = 0;
  assert.deepEqual(await drain(await t.stream(0, 1000, 139_000)), want);
  assert.deepEqual(sent, ['bytes=0-67']);
  const end = sample.length;
  assert.deepEqual(await drain(await t.stream(0, end - 10, 100)), sample.subarray(end - 10));

  // The first chunk's bytes come out while the rest has not arrived.
  mode = 'hold';
  const reader = (await t.stream(0, 1000, 139_000)).getReader();
  const first = await Promise.race([reader.read(), new Promise((resolve) => { setTimeout(resolve, 5_000, 'held'); })]);
  assert.notEqual(first, 'held', 'the first chunk waited for the whole range');
  assert.deepEqual(first.value, sample.subarray(1000, CHUNK));
  release();
  const rest = [first.value];
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
  assert.deepEqual(Buffer.concat(rest), Buffer.from(want));

  // A server that ignores the range: the core's read finds it in the whole file.
  mode = 'whole';
  sent.length = 0;
  assert.deepEqual(await drain(await t.stream(0, 1000, 139_000)), want);
  assert.equal(sent.length, 1);

  // A bit flipped in the second chunk, or the answer cut there: the stream errors, typed,
  // after passing on the first chunk, which was sound.
  for (const [how, message] of [['flip', /chunk 1 failed authentication/], ['cut', /wrong length/]]) {
    mode = how;
    const e = await drain(await t.stream(0, 1000, 139_000)).catch((err) => err);
    assert.ok(e instanceof TamperedError, `${how}: ${e}`);
    assert.equal(e.code, 'tampered');
    assert.match(e.message, message);
  }
  // The connection lost there: a NetworkError.
  mode = 'fail';
  const lost = await drain(await t.stream(0, 1000, 139_000)).catch((err) => err);
  assert.ok(lost instanceof NetworkError, String(lost));
  assert.equal(lost.code, 'network');

  // No answer at all: the read falls back to the core's, through `send`.
  mode = 'unreachable';
  sent.length = 0;
  assert.deepEqual(await drain(await t.stream(0, 1000, 139_000)), want);
  assert.equal(sent.length, 1);
});

test('errors are FountError subclasses with stable codes', async () => {
  const { id, token } = await customer('errors');
  await grant(id);
  const storage = memoryStorage();
  const client = await FountClient.create(demo.base_url, { storage });
  const e = await client.registerDevice('not-a-token', 'x').catch((err) => err);
  assert.ok(e instanceof UnauthorizedError && e instanceof FountError && e instanceof Error);
  assert.equal(e.code, 'unauthorized');
  await assert.rejects(client.acquireLicense(token, title), DeviceNotRegisteredError);
  await client.registerDevice(token, 'node');
  await assert.rejects(client.openTitle(title), NotLicensedError);
  await assert.rejects(client.acquireLicense(token, '../escape'), InvalidInputError);
  const license = await client.acquireLicense(token, title);

  // This device's license in another device's storage: wrong device.
  const copy = memoryStorage(new Map(storage.map));
  const other = await FountClient.create(demo.base_url, { storage: copy });
  await assert.rejects(other.openTitle(title), WrongDeviceError);

  await store('POST', `/v1/licenses/${license.id}/revoke`);
  assert.equal((await client.checkStatus(license.id)).status, 'revoked');
  const r = await client.openTitle(title).catch((err) => err);
  assert.ok(r instanceof RevokedError);
  assert.equal(r.code, 'revoked');
});

test('return, and a transport that is not there', async () => {
  const { id, token } = await customer('return');
  await grant(id);
  const client = await FountClient.create(demo.base_url, { storage: memoryStorage(), transport: fetchTransport() });
  await client.registerDevice(token, 'node');
  const license = await client.acquireLicense(token, title);
  assert.equal((await client.returnLicense(token, license.id)).status, 'returned');
  await assert.rejects(client.openTitle(title), ReturnedError);
  const nowhere = await FountClient.create('http://127.0.0.1:9', { storage: memoryStorage() });
  await assert.rejects(nowhere.registerDevice(token, 'x'), NetworkError);
  await assert.rejects(FountClient.create('ftp://x', { storage: memoryStorage() }), InvalidInputError);
  // A transport whose answers are not what the host contract says: a typed error naming
  // what is wrong, never a crash.
  const honest = fetchTransport();
  for (const [spoil, what] of [
    [(r) => ({ ...r, body: 'text' }), 'body is not a Uint8Array'],
    [(r) => ({ ...r, status: 'ok' }), 'status is not an HTTP status'],
    [(r) => ({ ...r, headers: [{ name: 'x' }] }), 'a header is not { name, value }'],
    [() => null, 'status is not an HTTP status'],
  ]) {
    const broken = { send: async (request) => spoil(await honest.send(request)) };
    const odd = await FountClient.create(demo.base_url, { storage: memoryStorage(), transport: broken });
    const e = await odd.registerDevice(token, 'x').catch((err) => err);
    assert.ok(e instanceof NetworkError, String(e));
    assert.match(e.message, new RegExp(what.replace(/[{}]/g, '\\$&')));
  }
  // A key store whose public key is not a JWK the core takes: the same, from the key store.
  const real = webCryptoKeyStore();
  for (const [jwk, what] of [[{ kty: 'EC', crv: 'P-256', x: 1, y: 'y' }, 'publicJwk: x'], [{ crv: 'P-256' }, 'publicJwk: no kty'],
    [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', key_ops: ['sign'] }, "publicJwk: the EC key's alg, use or key_ops"]]) {
    const keyStore = { publicJwk: async () => jwk, ecdhP256: (peer) => real.ecdhP256(peer) };
    const e = await FountClient.create(demo.base_url, { storage: memoryStorage(), keyStore }).catch((err) => err);
    assert.ok(e instanceof KeyStoreError, String(e));
    assert.ok(e.message.includes(what), e.message);
  }
});

test('a customer manages their devices and sees their library', async () => {
  const { id, token } = await customer('account');
  await grant(id);
  const phone = await FountClient.create(demo.base_url, { storage: memoryStorage() });
  const laptop = await FountClient.create(demo.base_url, { storage: memoryStorage() });
  await phone.registerDevice(token, 'phone');
  await laptop.registerDevice(token, 'laptop');
  const list = await phone.devices(token);
  assert.deepEqual(list.devices.map((d) => d.name).sort(), ['laptop', 'phone']);
  assert.equal(list.devices.find((d) => d.thisDevice).id, phone.deviceId);
  assert.equal(list.nextRemovalAt, undefined);
  const renamed = await phone.renameDevice(token, laptop.deviceId, 'old laptop');
  assert.equal(renamed.name, 'old laptop');
  assert.equal(renamed.thisDevice, false);
  await assert.rejects(phone.renameDevice(token, 'not a device', 'x'), InvalidInputError);

  await store('PATCH', '/v1/store', { device_removal_wait_seconds: 3600 });
  try {
    const removed = await phone.removeDevice(token, laptop.deviceId);
    assert.equal(removed.active, false);
    const e = await phone.removeDevice(token, phone.deviceId).catch((err) => err);
    assert.ok(e instanceof DeviceRemovalTooSoonError, String(e));
    assert.equal(e.code, 'device_removal_too_soon');
    assert.match(e.message, /60 minutes/);
    assert.ok((await phone.devices(token)).nextRemovalAt > Date.now() / 1000);
  } finally {
    await store('PATCH', '/v1/store', { device_removal_wait_seconds: 0 });
  }
  const library = await phone.library(token);
  assert.deepEqual(library.map((i) => [i.titleId, i.access, i.name]), [[title, 'owned', 'The Fount Sampler']]);
});

test('the position and bookmarks follow the listener from device to device', async () => {
  const { id, token } = await customer('sync');
  await grant(id);
  const phone = await FountClient.create(demo.base_url, { storage: memoryStorage() });
  const tablet = await FountClient.create(demo.base_url, { storage: memoryStorage() });
  for (const c of [phone, tablet]) {
    await c.registerDevice(token, 'a device');
    await c.acquireLicense(token, title);
  }
  const p = await phone.openTitle(title);
  const t = await tablet.openTitle(title);
  await p.savePosition(21);
  const mark = await p.addBookmark(14, 'the keeper');
  const sent = await p.syncListening(token);
  assert.deepEqual([sent.sent, sent.received], [2, 0]);
  const got = await t.syncListening(token);
  assert.equal(got.received, 2);
  assert.equal(got.position, 21);
  assert.deepEqual((await t.bookmarks()).map((b) => [b.id, b.note]), [[mark.id, 'the keeper']]);
  // A second later (the clock counts seconds) the tablet removes it; the phone learns.
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await t.removeBookmark(mark.id), true);
  await t.savePosition(30);
  assert.equal((await t.syncListening(token)).sent, 2);
  assert.equal((await p.syncListening(token)).received, 2);
  assert.equal(await p.position(), 30);
  assert.deepEqual(await p.bookmarks(), []);
});
