// Decryption throughput of the JavaScript SDK in Node and in headless Chromium: a downloaded
// title read offline in consecutive 1 MiB reads (what a player's data source does), best of
// several passes; its chunks opened by WebCrypto as the SDK does, and by the core's AES in
// wasm as where there is no WebCrypto.
//
//   node bench/decrypt.mjs prepare SNAPSHOT   acquire and download FOUNT_BENCH_TITLE from the
//                                             server in FOUNT_DEMO_JSON; write the storage and
//                                             the device key to SNAPSHOT
//   node bench/decrypt.mjs run SNAPSHOT       read it offline; print MB/s as JSON
//   node bench/decrypt.mjs browser SNAPSHOT   the same in headless Chromium (NODE_PATH must
//                                             reach playwright-core, as for the tests)
//
// The native side (cargo run -p fount-sdk --example offline_read_bench SNAPSHOT) reads the same
// snapshot, so both decrypt the same bytes with the same key.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { FountClient, memoryStorage, webCryptoKeyStore } from '../src/index.js';

const [mode, snapshotPath] = process.argv.slice(2);

/**
 * Reads the snapshot's title offline, best of 5 passes each way, alternating: as the SDK reads
 * (its chunks opened by WebCrypto), and as in an insecure context, which has no WebCrypto (the
 * core's AES in wasm). Self-contained, as it also runs in a page: MB/s of each.
 */
async function measure({ snapshot, sdk }) {
  const { FountClient, memoryStorage } = await import(sdk);
  const { title, entries } = JSON.parse(snapshot);
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const map = new Map(Object.entries(entries).map(([k, v]) => [k, bytes(v)]));
  const jwk = JSON.parse(new TextDecoder().decode(map.get('fount/device-key')));
  const subtle = globalThis.crypto.subtle;
  const privateKey = await subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const keyStore = {
    publicJwk: async () => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }),
    async ecdhP256(peer) {
      const peerKey = await subtle.importKey('raw', peer, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
      return new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: peerKey }, privateKey, 256));
    },
  };
  const offline = { send: async () => { throw new Error('offline'); } };
  const client = await FountClient.create('http://offline.invalid', { storage: memoryStorage(map), keyStore, transport: offline });
  const t = await client.openTitle(title);
  const length = t.tracks()[0].length;
  const pass = async () => {
    const start = performance.now();
    for (let at = 0; at < length;) at += (await t.read(0, at, 1 << 20)).length;
    return (performance.now() - start) / 1e3;
  };
  const webCrypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  const best = { webcrypto: Infinity, wasm: Infinity };
  for (let round = 0; round < 5; round++) {
    best.webcrypto = Math.min(best.webcrypto, await pass());
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      best.wasm = Math.min(best.wasm, await pass());
    } finally {
      if (webCrypto) Object.defineProperty(globalThis, 'crypto', webCrypto);
      else delete globalThis.crypto;
    }
  }
  const rate = (seconds) => Math.round(length / seconds / 1e5) / 10;
  return { bytes: length, webcrypto: rate(best.webcrypto), wasm: rate(best.wasm) };
}

function report(runtime, { bytes, webcrypto, wasm }) {
  console.log(JSON.stringify({ bench: 'wasm_read', runtime, aes: 'webcrypto', bytes, mb_per_s: webcrypto }));
  console.log(JSON.stringify({ bench: 'wasm_read', runtime, aes: 'wasm', bytes, mb_per_s: wasm }));
}
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
  const snapshot = readFileSync(snapshotPath, 'utf8');
  const rates = await measure({ snapshot, sdk: new URL('../src/index.js', import.meta.url).href });
  report('node', rates);
} else if (mode === 'browser') {
  // The same, in headless Chromium: the page imports the package's own files from a static
  // server (the code the widget's service worker runs, on the same WebCrypto).
  const { launchChromium, staticServer } = await import('../test/support.js');
  const snapshot = readFileSync(snapshotPath, 'utf8');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { server, origin } = await staticServer(root, (path) => (path === '/' ? '<!doctype html><title>bench</title>' : undefined));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    report('chromium', await page.evaluate(measure, { snapshot, sdk: '/src/index.js' }));
  } finally {
    await browser.close();
    server.close();
  }
} else {
  console.error('usage: node bench/decrypt.mjs prepare|run|browser SNAPSHOT');
  process.exit(2);
}
