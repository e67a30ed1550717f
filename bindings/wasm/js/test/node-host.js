// A host for Node processes that must outlive themselves in the download tests: storage in
// files (written whole, then renamed, as an app's would be) and a P-256 device key kept beside
// them. Test support only: a real app picks its own storage.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const name = (key) => encodeURIComponent(key);

export function fileStorage(dir) {
  const ready = mkdir(dir, { recursive: true });
  return {
    async load(key) {
      await ready;
      try {
        return new Uint8Array(await readFile(join(dir, name(key))));
      } catch {
        return undefined;
      }
    },
    async save(key, value) {
      await ready;
      const tmp = join(dir, `.${name(key)}.${process.pid}.${Math.random().toString(36).slice(2)}`);
      await writeFile(tmp, value);
      await rename(tmp, join(dir, name(key)));
    },
    async remove(key) { await rm(join(dir, name(key)), { force: true }); },
    async keys(prefix) {
      await ready;
      return (await readdir(dir)).filter((f) => !f.startsWith('.')).map(decodeURIComponent)
        .filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' };

/** A device key kept as a JWK file in `dir`, so that a restarted process is the same device. */
export function fileKeyStore(dir) {
  const subtle = globalThis.crypto.subtle;
  const path = join(dir, '.device-key.json');
  let pair;
  async function keyPair() {
    if (pair) return pair;
    await mkdir(dir, { recursive: true });
    let jwk;
    try {
      jwk = JSON.parse(await readFile(path, 'utf8'));
    } catch {
      const fresh = await subtle.generateKey(ECDH, true, ['deriveBits']);
      jwk = await subtle.exportKey('jwk', fresh.privateKey);
      await writeFile(path, JSON.stringify(jwk));
    }
    const privateKey = await subtle.importKey('jwk', jwk, ECDH, false, ['deriveBits']);
    const { d, ...pub } = jwk;
    const publicKey = await subtle.importKey('jwk', { ...pub, key_ops: [] }, ECDH, true, []);
    return (pair = { privateKey, publicKey });
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
  };
}
