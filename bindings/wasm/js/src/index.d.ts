// Types of @fount/sdk. The records (LicenseInfo, TrackInfo, …) are generated from the Rust
// core (tsify) into pkg/fount_wasm.d.ts; the rest is declared here.
import type {
  Access,
  BookmarkInfo,
  ChapterInfo,
  DeviceInfo,
  DeviceList,
  DownloadFailure,
  DownloadProgress,
  DownloadSettings,
  DownloadState,
  LibraryItem,
  HttpHeader,
  HttpRequest,
  HttpResponse,
  LicenseInfo,
  LicenseStatus,
  PositionInfo,
  StorageUsage,
  SyncReport,
  TitleUsage,
  TrackInfo,
  TrackProgress,
} from '../pkg/fount_wasm.js';

export type {
  Access,
  BookmarkInfo,
  ChapterInfo,
  DeviceInfo,
  DeviceList,
  DownloadFailure,
  DownloadProgress,
  DownloadSettings,
  DownloadState,
  LibraryItem,
  HttpHeader,
  HttpRequest,
  HttpResponse,
  LicenseInfo,
  LicenseStatus,
  PositionInfo,
  StorageUsage,
  SyncReport,
  TitleUsage,
  TrackInfo,
  TrackProgress,
};

/** Sends HTTP requests; resolves with every status, rejects only without a response. */
export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Optional: the same, the body as it arrives. With it, `FountTitle#stream` opens each chunk as it comes. */
  stream?(request: HttpRequest): Promise<StreamedResponse>;
}

/** An HTTP answer whose body is still arriving. */
export interface StreamedResponse {
  status: number;
  headers: { name: string; value: string }[];
  body: ReadableStream<Uint8Array>;
}

/** A key-value store for licenses, manifests, downloaded blocks, positions and bookmarks. */
export interface Storage {
  load(key: string): Promise<Uint8Array | undefined>;
  save(key: string, value: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

/** The device key: the host performs the ECDH; the core never sees the private key. */
export interface KeyStore {
  publicJwk(): Promise<JsonWebKey>;
  /** ECDH with `peer` (65-byte uncompressed P-256 point): the shared secret's x coordinate. */
  ecdhP256(peer: Uint8Array): Promise<Uint8Array>;
}

export interface Clock {
  /** Seconds since the Unix epoch. */
  now(): number;
}

/** Everything the core calls on its host, in one object. */
export interface Host {
  send(request: HttpRequest): Promise<HttpResponse>;
  /** Optional, as HttpTransport#stream. */
  stream?(request: HttpRequest): Promise<StreamedResponse>;
  load(key: string): Promise<Uint8Array | undefined>;
  save(key: string, value: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
  now(): number;
  publicJwk(): Promise<JsonWebKey>;
  ecdhP256(peer: Uint8Array): Promise<Uint8Array>;
}

export interface ClientOptions {
  transport?: HttpTransport;
  storage?: Storage;
  keyStore?: KeyStore;
  clock?: Clock;
  /** A complete host instead of the parts above. */
  host?: Host;
}

/** Loads the wasm module once (FountClient.create calls it). */
export function init(wasm?: string | URL | Request | Response | BufferSource | WebAssembly.Module): Promise<void>;

export interface DownloadOptions {
  /** Called with each progress, in order (as the `downloadprogress` events). */
  onProgress?: (progress: DownloadProgress) => void;
}

/** A client is an EventTarget: `downloadprogress` events carry a DownloadProgress. */
export class FountClient extends EventTarget {
  private constructor();
  /** A client of the server at `serverUrl`. */
  static create(serverUrl: string, options?: ClientOptions): Promise<FountClient>;
  /** This device's id (the RFC 7638 thumbprint of its key). */
  readonly deviceId: string;
  /** The server this client talks to. */
  readonly serverUrl: string;
  registerDevice(customerToken: string, name: string): Promise<DeviceInfo>;
  /** The customer's active devices, the store's limit and its wait between removals. */
  devices(customerToken: string): Promise<DeviceList>;
  renameDevice(customerToken: string, deviceId: string, name: string): Promise<DeviceInfo>;
  /** Revokes the device and its licenses; DeviceRemovalTooSoonError within the store's wait. */
  removeDevice(customerToken: string, deviceId: string): Promise<DeviceInfo>;
  /** What the customer owns or rents, newest first. */
  library(customerToken: string): Promise<LibraryItem[]>;
  acquireLicense(customerToken: string, titleId: string): Promise<LicenseInfo>;
  licenses(): Promise<LicenseInfo[]>;
  checkStatus(licenseId: string): Promise<LicenseInfo>;
  renewLicense(customerToken: string, licenseId: string): Promise<LicenseInfo>;
  returnLicense(customerToken: string, licenseId: string): Promise<LicenseInfo>;
  openTitle(titleId: string): Promise<FountTitle>;
  downloadSettings(): Promise<DownloadSettings>;
  /** Parallel requests (1-16), attempts per block (1-20), the first retry's wait, the quota. */
  setDownloadSettings(settings: Partial<DownloadSettings>): Promise<void>;
  /** Adds a title to the queue (persisted: it survives a reload). */
  enqueueDownload(titleId: string): Promise<DownloadProgress>;
  /** Downloads the queued titles in turn; a title that fails is marked so and the next starts. */
  runDownloads(options?: DownloadOptions): Promise<DownloadProgress[]>;
  /** Downloads one title now; QuotaExceededError, NetworkError, … when it fails. */
  downloadTitle(titleId: string, options?: DownloadOptions): Promise<DownloadProgress>;
  pauseDownload(titleId: string): Promise<DownloadProgress>;
  resumeDownload(titleId: string): Promise<DownloadProgress>;
  /** Stops the download and removes what it stored. */
  cancelDownload(titleId: string): Promise<DownloadProgress>;
  downloadProgress(titleId: string): Promise<DownloadProgress>;
  downloads(): Promise<DownloadProgress[]>;
  storageUsage(): Promise<StorageUsage>;
  /** Each progress of a title's download, until done, paused, failed or cancelled. */
  watchDownload(titleId: string): AsyncIterableIterator<DownloadProgress>;
}

export class FountTitle {
  private constructor();
  readonly titleId: string;
  /** The server the title comes from. */
  readonly serverUrl: string;
  readonly name: string;
  readonly author: string | undefined;
  /** Seconds. */
  readonly duration: number;
  readonly isDownloaded: boolean;
  tracks(): TrackInfo[];
  chapters(): ChapterInfo[];
  locate(seconds: number): PositionInfo;
  /** Decrypted bytes [offset, offset + length) of a track (shorter at its end). */
  read(track: number, offset: number, length: number): Promise<Uint8Array>;
  /**
   * The same bytes as a stream: each sealed chunk opened as it arrives (with WebCrypto and a
   * transport that streams), otherwise what `read` gives. Errors with TamperedError if a chunk
   * fails authentication or the answer is cut short.
   */
  stream(track: number, offset: number, length: number): Promise<ReadableStream<Uint8Array>>;
  /** Downloads every track now (as FountClient#downloadTitle). */
  download(): Promise<DownloadProgress>;
  removeDownload(): Promise<void>;
  savePosition(seconds: number): Promise<void>;
  position(): Promise<number | undefined>;
  addBookmark(seconds: number, note?: string): Promise<BookmarkInfo>;
  bookmarks(): Promise<BookmarkInfo[]>;
  removeBookmark(id: string): Promise<boolean>;
  /** Syncs the position and bookmarks with the server: the latest change wins, whichever device made it. */
  syncListening(customerToken: string): Promise<SyncReport>;
}

export type ErrorCode =
  | 'network' | 'unauthorized' | 'not_entitled' | 'device_limit_reached' | 'device_not_registered' | 'device_removal_too_soon'
  | 'wrong_device' | 'not_yet_valid' | 'expired' | 'renew_required' | 'clock_rolled_back' | 'revoked'
  | 'returned' | 'not_licensed' | 'not_found' | 'tampered' | 'key_store' | 'storage' | 'invalid_input' | 'server'
  | 'quota_exceeded';

/** Every error of the SDK. `code` is stable; `message` is for people. */
export class FountError extends Error {
  readonly code: ErrorCode;
}
export class NetworkError extends FountError {}
export class UnauthorizedError extends FountError {}
export class NotEntitledError extends FountError {}
export class DeviceLimitReachedError extends FountError {}
export class DeviceNotRegisteredError extends FountError {}
export class DeviceRemovalTooSoonError extends FountError {}
export class WrongDeviceError extends FountError {}
export class NotYetValidError extends FountError {}
export class ExpiredError extends FountError {}
export class RenewRequiredError extends FountError {}
export class ClockRolledBackError extends FountError {}
export class RevokedError extends FountError {}
export class ReturnedError extends FountError {}
export class NotLicensedError extends FountError {}
export class NotFoundError extends FountError {}
export class TamperedError extends FountError {}
export class KeyStoreError extends FountError {}
export class StorageError extends FountError {}
export class InvalidInputError extends FountError {}
export class ServerError extends FountError {}
export class QuotaExceededError extends FountError {}

export function fetchTransport(fetchImpl?: typeof fetch, options?: { timeoutMs?: number }): HttpTransport;
export function memoryStorage(map?: Map<string, Uint8Array>): Storage & { map: Map<string, Uint8Array> };
export function indexedDbStorage(database?: string): Storage;
export function webCryptoKeyStore(options?: { database?: string; extractable?: boolean }): KeyStore & {
  keyPair(): Promise<CryptoKeyPair>;
};
export function systemClock(): Clock;
export function defaultHost(options?: Omit<ClientOptions, 'host'>): Host;
