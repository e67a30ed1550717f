// Default host services. The browser gets fetch, IndexedDB and a non-extractable WebCrypto
// device key kept in IndexedDB; Node (which has fetch and WebCrypto but no IndexedDB) gets
// memory storage unless it passes its own.

/**
 * HTTP with fetch. Returns every status; rejects only when there is no response, or when none
 * has come within `timeoutMs` (60 s by default), so a server that hangs never hangs the app.
 */
export function fetchTransport(fetchImpl = globalThis.fetch, { timeoutMs = 60_000 } = {}) {
  const answer = async (request) => {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers.map((h) => [h.name, h.value]),
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
      credentials: 'omit',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const headers = [];
    response.headers.forEach((value, name) => headers.push({ name, value }));
    return { response, status: response.status, headers };
  };
  return {
    async send(request) {
      const { response, status, headers } = await answer(request);
      return { status, headers, body: new Uint8Array(await response.arrayBuffer()) };
    },
    // The body as it arrives.
    async stream(request) {
      const { response, status, headers } = await answer(request);
      return { status, headers, body: response.body };
    },
  };
}

/** Storage in a Map: for Node, tests, and pages that keep nothing. */
export function memoryStorage(map = new Map()) {
  return {
    async load(key) { return map.get(key); },
    async save(key, value) { map.set(key, value.slice()); },
    async remove(key) { map.delete(key); },
    async keys(prefix) { return [...map.keys()].filter((k) => k.startsWith(prefix)).sort(); },
    map,
  };
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The IndexedDB database `name`, with a key-value store and a store for CryptoKeys. */
function openDb(name) {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore('kv');
    open.result.createObjectStore('keys');
  };
  return request(open);
}

/** Storage in IndexedDB (database `fount` by default). */
export function indexedDbStorage(name = 'fount') {
  const db = openDb(name);
  const store = async (mode) => (await db).transaction('kv', mode).objectStore('kv');
  return {
    async load(key) { return request((await store('readonly')).get(key)); },
    async save(key, value) { await request((await store('readwrite')).put(value, key)); },
    async remove(key) { await request((await store('readwrite')).delete(key)); },
    async keys(prefix) {
      return request((await store('readonly')).getAllKeys(IDBKeyRange.bound(prefix, `${prefix}\uffff`)));
    },
  };
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' };

/**
 * The device key as a non-extractable WebCrypto P-256 key: the page can use it for ECDH but
 * no script can read it out. It is kept in IndexedDB (CryptoKeys survive structured cloning
 * still non-extractable) when there is one, in memory otherwise. The wasm core never sees it:
 * it asks for an ECDH and gets the shared secret.
 */
export function webCryptoKeyStore({ database = 'fount', extractable = false } = {}) {
  const subtle = globalThis.crypto.subtle;
  let pair;
  async function keyPair() {
    if (pair) return pair;
    if (typeof indexedDB !== 'undefined') {
      const db = await openDb(database);
      const stored = await request(db.transaction('keys', 'readonly').objectStore('keys').get('device'));
      if (stored) return (pair = stored);
      pair = await subtle.generateKey(ECDH, extractable, ['deriveBits']);
      await request(db.transaction('keys', 'readwrite').objectStore('keys').put(pair, 'device'));
      return pair;
    }
    return (pair = await subtle.generateKey(ECDH, extractable, ['deriveBits']));
  }
  return {
    async publicJwk() {
      const { kty, crv, x, y } = await subtle.exportKey('jwk', (await keyPair()).publicKey);
      return { kty, crv, x, y };
    },
    async ecdhP256(peer) {
      const { privateKey } = await keyPair();
      const peerKey = await subtle.importKey('raw', peer, ECDH, false, []);
      return new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: peerKey }, privateKey, 256));
    },
    keyPair,
  };
}

/** The system clock, in seconds. */
export function systemClock() {
  return { now: () => Math.floor(Date.now() / 1000) };
}

/**
 * The host the wasm core calls: `options` may give `transport`, `storage`, `keyStore` and
 * `clock`; the rest are the defaults for this environment.
 */
export function defaultHost(options = {}) {
  const transport = options.transport ?? fetchTransport();
  const storage = options.storage ?? (typeof indexedDB !== 'undefined' ? indexedDbStorage() : memoryStorage());
  const keyStore = options.keyStore ?? webCryptoKeyStore();
  const clock = options.clock ?? systemClock();
  return {
    send: (r) => transport.send(r),
    stream: typeof transport.stream === 'function' ? (r) => transport.stream(r) : undefined,
    load: (k) => storage.load(k),
    save: (k, v) => storage.save(k, v),
    remove: (k) => storage.remove(k),
    keys: (p) => storage.keys(p),
    now: () => clock.now(),
    publicJwk: () => keyStore.publicJwk(),
    ecdhP256: (peer) => keyStore.ecdhP256(peer),
  };
}
