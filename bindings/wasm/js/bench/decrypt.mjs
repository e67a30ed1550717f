// Decryption throughput of the JavaScript SDK in Node: a downloaded title read offline in
// consecutive 1 MiB reads (what a player's data source does), best of several passes; its
// chunks opened by WebCrypto as the SDK does, and by the core's AES in wasm as where there is
// no WebCrypto.
//
//   node bench/decrypt.mjs prepare SNAPSHOT   acquire and download FOUNT_BENCH_TITLE from the
//                                             server in FOUNT_DEMO_JSON; write the storage and
//                                             the device key to SNAPSHOT
//   node bench/decrypt.mjs run SNAPSHOT       read it offline; print MB/s as JSON
//
// The native side (cargo run -p fount-sdk --example offline_read_bench SNAPSHOT) reads the same
// snapshot, so both decrypt the same bytes with the same key.
import { readFileSync, writeFileSync } from 'node:fs';

import { FountClient, memoryStorage, webCryptoKeyStore } from '../src/index.js';

const [mode, snapshotPath] = process.argv.slice(2);
const offline = { send: async () => { throw new Error('offline'); } };
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

if (mode === 'prepare') {
  const demo = JSON.parse(readFileSync(process.env.FOUNT_DEMO_JSON, 'utf8'));
  const title = process.env.FOUNT_BENCH_TITLE;
  const api = (path, body = {}) => fetch(demo.base_url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${demo.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  const customer = `bench-${Date.now()}`;
  await api('/v1/entitlements', { customer, title, kind: 'purchase' });
  const { token } = await api(`/v1/customers/${customer}/tokens`);
  // An extractable key, so the native client can load the same key from the snapshot.
  const keyStore = webCryptoKeyStore({ extractable: true });
  const storage = memoryStorage();
  const client = await FountClient.create(demo.base_url, { storage, keyStore });
  await client.registerDevice(token, 'bench');
  await client.acquireLicense(token, title);
  await (await client.openTitle(title)).download();
  const privateJwk = await crypto.subtle.exportKey('jwk', (await keyStore.keyPair()).privateKey);
  const entries = Object.fromEntries([...storage.map].map(([k, v]) => [k, b64(v)]));
  entries['fount/device-key'] = b64(Buffer.from(JSON.stringify(privateJwk)));
  writeFileSync(snapshotPath, JSON.stringify({ title, entries }));
} else if (mode === 'run') {
  const { title, entries } = JSON.parse(readFileSync(snapshotPath, 'utf8'));
  const map = new Map(Object.entries(entries).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]));
  const jwk = JSON.parse(Buffer.from(map.get('fount/device-key')).toString());
  const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const { d, ...publicJwk } = jwk;
  const keyStore = {
    publicJwk: async () => ({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y }),
    async ecdhP256(peer) {
      const peerKey = await crypto.subtle.importKey('raw', peer, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      return new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peerKey }, privateKey, 256));
    },
  };
  const client = await FountClient.create('http://offline.invalid', { storage: memoryStorage(map), keyStore, transport: offline });
  const t = await client.openTitle(title);
  const length = t.tracks()[0].length;
  const pass = async () => {
    const start = process.hrtime.bigint();
    for (let at = 0; at < length;) at += (await t.read(0, at, 1 << 20)).length;
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  // As the SDK reads (the chunks opened by WebCrypto), and as in an insecure context, which
  // has no WebCrypto (the core's AES in wasm), alternating; the best pass of each.
  const webCrypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const best = { webcrypto: Infinity, wasm: Infinity };
  for (let round = 0; round < 5; round++) {
    best.webcrypto = Math.min(best.webcrypto, await pass());
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      best.wasm = Math.min(best.wasm, await pass());
    } finally {
      Object.defineProperty(globalThis, 'crypto', webCrypto);
    }
  }
  const rate = (seconds) => Math.round(length / seconds / 1e5) / 10;
  console.log(JSON.stringify({ bench: 'wasm_read', aes: 'webcrypto', bytes: length, mb_per_s: rate(best.webcrypto) }));
  console.log(JSON.stringify({ bench: 'wasm_read', aes: 'wasm', bytes: length, mb_per_s: rate(best.wasm) }));
} else {
  console.error('usage: node bench/decrypt.mjs prepare|run SNAPSHOT');
  process.exit(2);
}
