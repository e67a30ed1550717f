// Fount's SDK for JavaScript: the wasm core with the platform's services around it.
import initWasm, { WasmClient } from '../pkg/fount_wasm.js';
import { InvalidInputError, NetworkError, TamperedError, fromWasm } from './errors.js';
import { defaultHost } from './hosts.js';

export * from './errors.js';
export { defaultHost, fetchTransport, indexedDbStorage, memoryStorage, systemClock, webCryptoKeyStore } from './hosts.js';

let ready;

/**
 * Loads the wasm module, once; later calls return the same promise. Called by
 * `FountClient.create`, so calling it yourself is only to load early, or to pass the module
 * (a URL, a Response, bytes or a WebAssembly.Module) where the default location does not work.
 */
export function init(wasm) {
  ready ??= (async () => {
    // Named here rather than left to the glue, which looks beside itself: where the widget's
    // server bundles this module with the glue, that is src/, not pkg/.
    let source = wasm ?? new URL('../pkg/fount_wasm_bg.wasm', import.meta.url);
    if (wasm === undefined && typeof process !== 'undefined' && process.versions?.node) {
      // Node's fetch does not read file: URLs.
      const { readFile } = await import('node:fs/promises');
      source = await readFile(source);
    }
    await initWasm({ module_or_path: source });
  })();
  return ready;
}

const call = (promise) => promise.catch((e) => { throw fromWasm(e); });

const FINAL = new Set(['done', 'paused', 'failed', 'cancelled']);

/**
 * A Fount client: one per server and app. It is an EventTarget: every download's progress is
 * dispatched as a `downloadprogress` CustomEvent whose `detail` is the DownloadProgress.
 */
export class FountClient extends EventTarget {
  #inner;
  #stream;

  /** @private Use FountClient.create. */
  constructor(inner, serverUrl, stream) {
    super();
    this.#inner = inner;
    this.#stream = stream;
    /** The server this client talks to. */
    this.serverUrl = serverUrl;
  }

  #listener(onProgress) {
    return (progress) => {
      this.dispatchEvent(new CustomEvent('downloadprogress', { detail: progress }));
      onProgress?.(progress);
    };
  }

  /** A client of the server at `serverUrl`, with default or given host services. */
  static async create(serverUrl, options = {}) {
    await init();
    const host = options.host ?? defaultHost(options);
    // A host whose transport streams answers lets reads open each chunk as it arrives.
    const stream = typeof host.stream === 'function' ? (r) => host.stream(r) : undefined;
    return new FountClient(await call(WasmClient.create(serverUrl, host)), serverUrl, stream);
  }

  get deviceId() { return this.#inner.deviceId; }
  registerDevice(customerToken, name) { return call(this.#inner.registerDevice(customerToken, name)); }
  devices(customerToken) { return call(this.#inner.devices(customerToken)); }
  renameDevice(customerToken, deviceId, name) { return call(this.#inner.renameDevice(customerToken, deviceId, name)); }
  removeDevice(customerToken, deviceId) { return call(this.#inner.removeDevice(customerToken, deviceId)); }
  library(customerToken) { return call(this.#inner.library(customerToken)); }
  acquireLicense(customerToken, titleId) { return call(this.#inner.acquireLicense(customerToken, titleId)); }
  licenses() { return call(this.#inner.licenses()); }
  checkStatus(licenseId) { return call(this.#inner.checkStatus(licenseId)); }
  renewLicense(customerToken, licenseId) { return call(this.#inner.renewLicense(customerToken, licenseId)); }
  returnLicense(customerToken, licenseId) { return call(this.#inner.returnLicense(customerToken, licenseId)); }
  async openTitle(titleId) { return new FountTitle(await call(this.#inner.openTitle(titleId)), this.serverUrl, this.#stream); }

  downloadSettings() { return call(this.#inner.downloadSettings()); }
  setDownloadSettings(settings) { return call(this.#inner.setDownloadSettings(settings)); }
  enqueueDownload(titleId) { return call(this.#inner.enqueueDownload(titleId)); }
  /** Downloads the queued titles in turn; resolves with every title's progress. */
  runDownloads({ onProgress } = {}) { return call(this.#inner.runDownloads(this.#listener(onProgress))); }
  /** Downloads one title now; rejects with its typed error, resolves with its last progress. */
  downloadTitle(titleId, { onProgress } = {}) {
    return call(this.#inner.downloadTitle(titleId, this.#listener(onProgress)));
  }
  pauseDownload(titleId) { return call(this.#inner.pauseDownload(titleId)); }
  resumeDownload(titleId) { return call(this.#inner.resumeDownload(titleId)); }
  cancelDownload(titleId) { return call(this.#inner.cancelDownload(titleId)); }
  downloadProgress(titleId) { return call(this.#inner.downloadProgress(titleId)); }
  downloads() { return call(this.#inner.downloads()); }
  storageUsage() { return call(this.#inner.storageUsage()); }

  /**
   * The progress of a title's download as an async iterator: each change, until it is done,
   * paused, failed or cancelled (that last progress included). Start it before the download.
   */
  async *watchDownload(titleId) {
    const queue = [];
    let wake;
    const on = (event) => {
      if (event.detail.titleId !== titleId) return;
      queue.push(event.detail);
      wake?.();
    };
    this.addEventListener('downloadprogress', on);
    try {
      for (;;) {
        while (queue.length > 0) {
          const progress = queue.shift();
          yield progress;
          if (FINAL.has(progress.state)) return;
        }
        await new Promise((resolve) => { wake = resolve; });
        wake = undefined;
      }
    } finally {
      this.removeEventListener('downloadprogress', on);
    }
  }
}

// Chunk `i` of a plan, whose chunks the core packs (see `PackedChunks`).
const chunkOf = ({ first, stride, span, ivs, aads }, i) => ({
  index: first + i, start: i * stride, end: Math.min((i + 1) * stride, span),
  iv: ivs.subarray(12 * i, 12 * i + 12), aad: aads.subarray(77 * i, 77 * i + 77),
});

const open = (subtle, key, c, sealed) => subtle
  .decrypt({ name: 'AES-GCM', iv: c.iv, additionalData: c.aad, tagLength: 128 }, key, sealed)
  .catch(() => { throw new TamperedError(`sealed chunk ${c.index} failed authentication`, 'tampered'); });

/** A title opened for playing. */
// WebAssembly has no AES instructions, WebCrypto has; it is missing in insecure contexts.
const webCrypto = () => globalThis.crypto?.subtle;

export class FountTitle {
  #inner;
  #stream;
  #keys = new Map(); // per track, its file's AES key, non-extractable

  /** @private Use FountClient#openTitle. */
  constructor(inner, serverUrl, stream) {
    this.#inner = inner;
    this.#stream = stream;
    /** The server the title comes from (what playback's stream worker opens it with). */
    this.serverUrl = serverUrl;
  }

  get titleId() { return this.#inner.titleId; }
  get name() { return this.#inner.name; }
  get author() { return this.#inner.author; }
  get duration() { return this.#inner.duration; }
  get isDownloaded() { return this.#inner.isDownloaded; }
  tracks() { return this.#inner.tracks(); }
  chapters() { return this.#inner.chapters(); }
  locate(seconds) { return this.#inner.locate(seconds); }
  read(track, offset, length) {
    const subtle = webCrypto();
    if (subtle) return this.#readWith(subtle, track, offset, length);
    // The widget's build has no AES of its own: its player runs only in secure contexts.
    if (!this.#inner.read) return Promise.reject(new InvalidInputError('decrypting needs WebCrypto, which this context lacks', 'invalid_input'));
    return call(this.#inner.read(track, offset, length));
  }

  /** The bytes of `read` as a stream, each chunk opened as it arrives (see index.d.ts). */
  async stream(track, offset, length) {
    const subtle = webCrypto();
    const plan = subtle && this.#stream ? await call(this.#inner.planSealed(track, offset, length)) : null;
    const response = plan?.request && await this.#stream(plan.request).catch(() => null);
    if (response?.status === 206) return this.#opened(subtle, track, plan, response.body.getReader());
    response?.body?.cancel().catch(() => {});
    // Else whole: `read` falls back to storage, and types a refusal.
    return new Response(plan?.sealed ? await this.#open(subtle, track, plan) : await this.read(track, offset, length)).body;
  }

  // `plan`'s chunks (consecutive) opened in order as the body brings them; one held at a time.
  async #opened(subtle, track, plan, reader) {
    const key = await this.#key(subtle, track, plan.key);
    let held = new Uint8Array(0);
    let next = 0;
    let sent = 0;
    return new ReadableStream({
      async pull(controller) {
        const c = chunkOf(plan.chunks, next++);
        const size = c.end - c.start;
        while (held.length < size) {
          const { done, value } = await reader.read().catch((e) => { throw new NetworkError(String(e?.message ?? e), 'network'); });
          if (done) throw new TamperedError('the sealed asset has the wrong length', 'tampered');
          const more = new Uint8Array(held.length + value.length);
          more.set(held);
          more.set(value, held.length);
          held = more;
        }
        const plain = new Uint8Array(await open(subtle, key, c, held.subarray(0, size)));
        held = held.subarray(size);
        const from = next === 1 ? plan.skip : 0;
        const part = plain.subarray(from, from + plan.length - sent);
        sent += part.length;
        controller.enqueue(part);
        if (sent === plan.length) {
          reader.cancel().catch(() => {});
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }

  // The file key, non-extractable, imported once; `raw` is zeroed.
  async #key(subtle, track, raw) {
    if (!this.#keys.has(track)) {
      const importing = subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
      importing.catch(() => this.#keys.delete(track));
      this.#keys.set(track, importing);
    }
    raw.fill(0);
    return this.#keys.get(track);
  }

  // The core fetches and plans; WebCrypto opens the chunks with the file's key.
  async #readWith(subtle, track, offset, length) {
    const read = await call(this.#inner.readSealed(track, offset, length));
    return read ? this.#open(subtle, track, read) : new Uint8Array(0);
  }

  async #open(subtle, track, read) {
    const key = await this.#key(subtle, track, read.key);
    const plain = await Promise.all(Array.from({ length: read.chunks.count }, (_, i) => {
      const c = chunkOf(read.chunks, i);
      return open(subtle, key, c, read.sealed.subarray(c.start, c.end));
    }));
    const out = new Uint8Array(read.length);
    let at = 0;
    let from = read.skip;
    for (const buffer of plain) {
      const bytes = new Uint8Array(buffer, from, Math.min(buffer.byteLength - from, read.length - at));
      out.set(bytes, at);
      at += bytes.length;
      from = 0;
      if (at === read.length) break;
    }
    return out;
  }
  download() { return call(this.#inner.download()); }
  removeDownload() { return call(this.#inner.removeDownload()); }
  savePosition(seconds) { return call(this.#inner.savePosition(seconds)); }
  position() { return call(this.#inner.position()); }
  addBookmark(seconds, note) { return call(this.#inner.addBookmark(seconds, note)); }
  bookmarks() { return call(this.#inner.bookmarks()); }
  removeBookmark(id) { return call(this.#inner.removeBookmark(id)); }
  syncListening(customerToken) { return call(this.#inner.syncListening(customerToken)); }
}
