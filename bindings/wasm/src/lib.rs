//! # fount-wasm
//!
//! Fount's SDK for JavaScript and TypeScript. Every export delegates to
//! [`fount_sdk::client`]; the npm package (`js/`) adds the idioms of the platform around it:
//! a lazy `init()`, default host services (`fetch`, IndexedDB, a non-extractable WebCrypto
//! key) and `Error` subclasses with a stable `code`.
//!
//! Built twice by `scripts/build-wasm.sh`: with the default `sdk` feature, every export (the npm
//! package); without it, only what the widget's player calls (the module the server embeds),
//! so that the linker leaves the rest of the core out of what widget visitors download.
//!
//! The host is one JavaScript object whose methods return promises (see `js/src/index.d.ts`,
//! `Host`). The device key never enters wasm memory: the host performs the ECDH the core asks
//! for. Errors cross as `Error` objects with `name = "FountError"` and a `code`.
//!
//! WebAssembly has no AES instructions, so the package's `read` opens the chunks with
//! WebCrypto's AES-GCM where the platform has it (`readSealed` gives the sealed bytes, each
//! chunk's nonce and additional data, and the AES key of that one file; parsing, license
//! checks and key handling stay here), and falls back to the core's own `read` where it does
//! not (an insecure context has no `crypto.subtle`). The content key itself never leaves wasm.

use fount_sdk::Jwk;
use fount_sdk::client::{
    self, Client, ClientError, FountError, HttpRequest, HttpResponse, OpenTitle, SealedPlan, SealedRead, SealedSource,
};
#[cfg(feature = "sdk")]
use fount_sdk::client::{DownloadProgress, DownloadSettings};
use fount_sdk::jwe::KeyOperation;
use fount_sdk::jwk::RawJwk;
use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use zeroize::Zeroizing;

/// talc rather than the standard dlmalloc: a few kilobytes less to download, and made for
/// single-threaded wasm.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen]
extern "C" {
    /// The JavaScript host: HTTP, storage, clock and the device key.
    pub type JsHost;

    #[wasm_bindgen(method, catch)]
    fn send(this: &JsHost, request: JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn load(this: &JsHost, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn save(this: &JsHost, key: &str, value: js_sys::Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn remove(this: &JsHost, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn keys(this: &JsHost, prefix: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn now(this: &JsHost) -> f64;
    #[wasm_bindgen(method, catch, js_name = publicJwk)]
    fn public_jwk(this: &JsHost) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = ecdhP256)]
    fn ecdh_p256(this: &JsHost, peer: js_sys::Uint8Array) -> Result<Promise, JsValue>;
}

fn host_error(e: JsValue) -> client::HostError {
    let message = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string());
    client::HostError::new(message.unwrap_or_else(|| "the host failed".into()))
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, client::HostError> {
    JsFuture::from(promise.map_err(host_error)?).await.map_err(host_error)
}

/// The bytes of a `Uint8Array` the host gave (or of any buffer it gave), copied once into
/// wasm: `new Uint8Array(array)` would first copy a typed array in JavaScript, a whole block's
/// worth on every read of a download.
fn bytes_of(value: JsValue) -> Vec<u8> {
    value.dyn_into::<js_sys::Uint8Array>().unwrap_or_else(|other| js_sys::Uint8Array::new(&other)).to_vec()
}

/// The host's answer to a request, `{ status, headers: [{ name, value }], body }`, read field
/// by field: smaller than `serde_wasm_bindgen`'s deserializer for it, which matters to the
/// player's download size.
fn response_of(value: &JsValue) -> Result<HttpResponse, client::HostError> {
    let field = |of: &JsValue, name: &str| js_sys::Reflect::get(of, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let bad = |what: &str| client::HostError::new(format!("response: {what}"));
    let status = field(value, "status").as_f64().unwrap_or(-1.0);
    let status = u16::try_from(status as i64).ok().filter(|s| f64::from(*s) == status && *s <= 999);
    let status = status.ok_or_else(|| bad("status is not an HTTP status"))?;
    let headers = field(value, "headers").dyn_into::<js_sys::Array>().map_err(|_| bad("headers is not an array"))?;
    let mut list = Vec::new();
    for h in headers.iter() {
        match (field(&h, "name").as_string(), field(&h, "value").as_string()) {
            (Some(name), Some(value)) => list.push(client::HttpHeader { name, value }),
            _ => return Err(bad("a header is not { name, value }")),
        }
    }
    let body = field(value, "body").dyn_into::<js_sys::Uint8Array>().map_err(|_| bad("body is not a Uint8Array"))?;
    Ok(HttpResponse { status, headers: list, body: body.to_vec() })
}

/// The key store's public JWK, read member by member into the core's [`RawJwk`], which
/// checks it as it would the same JSON. Like [`response_of`], this leaves
/// `serde_wasm_bindgen`'s deserializer out of the player's module, and with it what that
/// deserializer's errors reach (`core`'s float formatting).
fn jwk_of(value: &JsValue) -> Result<Jwk, client::HostError> {
    let bad = |what: &str| client::HostError::new(format!("publicJwk: {what}"));
    let member = |name: &str| js_sys::Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let text = |name: &str| {
        let v = member(name);
        if v.is_undefined() || v.is_null() { Ok(None) } else { v.as_string().map(Some).ok_or_else(|| bad(name)) }
    };
    let key_ops = match member("key_ops") {
        v if v.is_undefined() || v.is_null() => None,
        v => {
            let ops = v.dyn_into::<js_sys::Array>().map_err(|_| bad("key_ops is not an array"))?;
            Some(ops.iter().map(|o| o.as_string().ok_or_else(|| bad("key_ops"))).collect::<Result<_, _>>()?)
        }
    };
    let raw = RawJwk {
        kty: text("kty")?.ok_or_else(|| bad("no kty"))?,
        crv: text("crv")?,
        x: text("x")?,
        y: text("y")?,
        n: text("n")?,
        e: text("e")?,
        alg: text("alg")?,
        use_: text("use")?,
        key_ops,
    };
    Jwk::try_from(raw).map_err(bad)
}

/// The JavaScript host as the core's host and key store.
struct Host(JsHost);

impl client::Host for Host {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, client::HostError> {
        let request = serde_wasm_bindgen::to_value(&request).map_err(|e| client::HostError::new(e.to_string()))?;
        response_of(&settle(self.0.send(request)).await?)
    }
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, client::HostError> {
        let value = settle(self.0.load(key)).await?;
        Ok((!value.is_undefined() && !value.is_null()).then(|| bytes_of(value)))
    }
    async fn save(&self, key: &str, value: Vec<u8>) -> Result<(), client::HostError> {
        settle(self.0.save(key, js_sys::Uint8Array::from(value.as_slice()))).await.map(drop)
    }
    async fn remove(&self, key: &str) -> Result<(), client::HostError> {
        settle(self.0.remove(key)).await.map(drop)
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, client::HostError> {
        let keys = settle(self.0.keys(prefix)).await?;
        serde_wasm_bindgen::from_value(keys).map_err(|e| client::HostError::new(format!("keys: {e}")))
    }
    fn now(&self) -> i64 {
        // Seconds fit an f64 exactly; a non-finite reading becomes 0, which the clock guard
        // then refuses as set back.
        let t = self.0.now();
        if t.is_finite() { t as i64 } else { 0 }
    }
    async fn sleep(&self, millis: u64) {
        // `setTimeout` exists in windows, workers and Node alike.
        let wait = Promise::new(&mut |resolve, _| {
            let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            match set_timeout {
                Some(f) => drop(f.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from(millis as f64))),
                None => drop(resolve.call0(&JsValue::UNDEFINED)),
            }
        });
        drop(JsFuture::from(wait).await);
    }
}

impl client::KeyStore for Host {
    async fn public_key(&self) -> Result<Jwk, client::HostError> {
        jwk_of(&settle(self.0.public_jwk()).await?)
    }
    async fn perform(&self, operation: &KeyOperation) -> Result<Zeroizing<Vec<u8>>, client::HostError> {
        match operation {
            KeyOperation::EcdhP256 { peer } => {
                let secret = settle(self.0.ecdh_p256(js_sys::Uint8Array::from(&peer[..]))).await?;
                Ok(Zeroizing::new(bytes_of(secret)))
            }
            KeyOperation::RsaOaepSha256 { .. } => Err(client::HostError::new("the browser's device key is P-256")),
        }
    }
}

type Core = Client<Host, Host>;

/// The error every call rejects with: an `Error` named `FountError`, with a stable `code`.
fn js_error(e: ClientError) -> JsValue {
    let e = FountError::from(e);
    let error = js_sys::Error::new(&e.message());
    error.set_name("FountError");
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
    error.into()
}

/// A result as a plain JavaScript object (`None` as `undefined`, as the TypeScript types say).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    serde_wasm_bindgen::to_value(value).map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}

/// A call in flight. Every export goes through this one type, so the promise glue exists
/// once in the module rather than once per method (it is generic over the future).
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>;

fn settle_promise(f: Pending) -> Promise {
    future_to_promise(f)
}

/// Runs a client call as a promise of its JSON-compatible result.
fn promise<T: Serialize, F: std::future::Future<Output = Result<T, ClientError>> + 'static>(f: F) -> Promise {
    settle_promise(Box::pin(async move { to_js(&f.await.map_err(js_error)?) }))
}

/// Calls the JavaScript listener, if any, with a download's progress (a listener that throws
/// does not stop the download).
#[cfg(feature = "sdk")]
fn notify(listener: Option<&js_sys::Function>, progress: &DownloadProgress) {
    if let (Some(f), Ok(value)) = (listener, to_js(progress)) {
        drop(f.call1(&JsValue::UNDEFINED, &value));
    }
}

#[wasm_bindgen(typescript_custom_section)]
const SEALED_READ: &str = r#"
/**
 * A plan's `count` chunks, packed. They follow each other from the start of the plan's sealed
 * bytes (`span` of them): chunk `i` is chunk `first + i` of the file, lies at
 * `[i * stride, min((i + 1) * stride, span))`, and has the nonce `ivs[12i..12i+12]` and the
 * additional data `aads[77i..77i+77]`.
 */
export interface PackedChunks {
  count: number;
  first: number;
  stride: number;
  span: number;
  ivs: Uint8Array;
  aads: Uint8Array;
}

/** What `WasmTitle.readSealed` resolves with (see `SealedRead` in the core). */
export interface SealedRead {
  key: Uint8Array;
  sealed: Uint8Array;
  chunks: PackedChunks;
  skip: number;
  length: number;
}

/** What `WasmTitle.planSealed` resolves with (see `SealedPlan` in the core). */
export interface SealedPlan {
  key: Uint8Array;
  sealed?: Uint8Array;
  request?: { method: string; url: string; headers: { name: string; value: string }[]; body: Uint8Array };
  chunks: PackedChunks;
  skip: number;
  length: number;
}
"#;

/// A [`SealedRead`] as the object `WasmTitle.readSealed` resolves with. Offsets within one
/// read are below 2^53: exact as JavaScript numbers.
fn sealed_read(read: &SealedRead) -> js_sys::Object {
    let out = planned(&read.key, &read.plan);
    set(&out, "sealed", &bytes(&read.sealed));
    out
}

/// A [`SealedPlan`] as the object `WasmTitle.planSealed` resolves with: `sealed` when the
/// bytes are on the device, else `request` (as the host's `send` gets it).
fn sealed_plan(plan: &SealedPlan) -> Result<js_sys::Object, JsValue> {
    let out = planned(&plan.key, &plan.plan);
    match &plan.source {
        SealedSource::Stored(sealed) => set(&out, "sealed", &bytes(sealed)),
        SealedSource::Fetch(request) => set(&out, "request", &serde_wasm_bindgen::to_value(request)?),
    }
    Ok(out)
}

/// The key, the chunks, `skip` and `length` of a read, as `readSealed` and `planSealed` give
/// them.
///
/// The chunks are packed (`PackedChunks`), not an object each: a read of 1 MiB has 64
/// chunks, and building an object with five properties for each crossed out of wasm a dozen
/// times a chunk, which cost more than WebCrypto's opening of it. A plan's chunks are
/// consecutive whole chunks of one file, so where each lies is its place in the plan times
/// the first one's length (the last may be shorter).
fn planned(key: &[u8; 32], plan: &fount_sdk::sealed::ReadPlan) -> js_sys::Object {
    let (mut ivs, mut aads) = (Vec::new(), Vec::new());
    for c in &plan.chunks {
        ivs.extend_from_slice(&c.nonce);
        aads.extend_from_slice(&c.aad);
    }
    // The first chunk's index and length (the stride, as `ReadPlan::chunks` lays them out).
    let (first, stride) =
        plan.chunks.first().map_or((0, 0), |c| (c.index, c.within.end.saturating_sub(c.within.start)));
    let chunks = js_sys::Object::new();
    set(&chunks, "count", &(plan.chunks.len() as f64).into());
    set(&chunks, "first", &(first as f64).into());
    set(&chunks, "stride", &(stride as f64).into());
    set(&chunks, "span", &(plan.bytes.end.saturating_sub(plan.bytes.start) as f64).into());
    set(&chunks, "ivs", &bytes(&ivs));
    set(&chunks, "aads", &bytes(&aads));
    let out = js_sys::Object::new();
    set(&out, "key", &bytes(key));
    set(&out, "chunks", &chunks);
    set(&out, "skip", &(plan.skip as f64).into());
    set(&out, "length", &(plan.len as f64).into());
    out
}

fn set(object: &js_sys::Object, name: &str, value: &JsValue) {
    // Setting a property on a plain new object cannot fail.
    drop(js_sys::Reflect::set(object, &name.into(), value));
}

fn bytes(b: &[u8]) -> JsValue {
    JsValue::from(js_sys::Uint8Array::from(b))
}

/// A Fount client.
#[wasm_bindgen(js_name = WasmClient)]
pub struct WasmClient(Core);

#[wasm_bindgen(js_class = WasmClient)]
impl WasmClient {
    /// A client of the server at `serverUrl`, with `host`'s services and device key.
    #[wasm_bindgen(unchecked_return_type = "Promise<WasmClient>")]
    pub fn create(server_url: String, host: JsHost) -> Promise {
        settle_promise(Box::pin(async move {
            let host = std::rc::Rc::new(host);
            let core = Client::new(
                &server_url,
                Host(JsHost::from(JsValue::from(host.as_ref()))),
                Host(JsHost::from(JsValue::from(host.as_ref()))),
            )
            .await
            .map_err(js_error)?;
            Ok(WasmClient(core).into())
        }))
    }

    /// This device's id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.0.device_id().to_owned()
    }

    /// Registers this device with the customer's account.
    #[wasm_bindgen(js_name = registerDevice, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn register_device(&self, customer_token: String, name: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.register_device(&customer_token, &name).await })
    }

    /// The customer's active devices, the store's limit and its wait between removals.
    #[wasm_bindgen(unchecked_return_type = "Promise<DeviceList>")]
    pub fn devices(&self, customer_token: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.devices(&customer_token).await })
    }

    /// Removes one of the customer's devices, revoking its licenses.
    #[wasm_bindgen(js_name = removeDevice, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn remove_device(&self, customer_token: String, device_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.remove_device(&customer_token, &device_id).await })
    }

    /// Acquires a license for a title on this device.
    #[wasm_bindgen(js_name = acquireLicense, unchecked_return_type = "Promise<LicenseInfo>")]
    pub fn acquire_license(&self, customer_token: String, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.acquire_license(&customer_token, &title_id).await })
    }

    /// Opens a title for playing.
    #[wasm_bindgen(js_name = openTitle, unchecked_return_type = "Promise<WasmTitle>")]
    pub fn open_title(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        settle_promise(Box::pin(async move {
            Ok(WasmTitle(std::rc::Rc::new(c.open_title(&title_id).await.map_err(js_error)?)).into())
        }))
    }
}

/// What the SDK offers beyond what the widget's player uses: left out of the player's build
/// (`--no-default-features`), which ships only what it calls.
#[cfg(feature = "sdk")]
#[wasm_bindgen(js_class = WasmClient)]
impl WasmClient {
    /// The licenses held on this device.
    #[wasm_bindgen(unchecked_return_type = "Promise<LicenseInfo[]>")]
    pub fn licenses(&self) -> Promise {
        let c = self.0.clone();
        promise(async move { c.licenses().await })
    }

    /// Renames one of the customer's devices.
    #[wasm_bindgen(js_name = renameDevice, unchecked_return_type = "Promise<DeviceInfo>")]
    pub fn rename_device(&self, customer_token: String, device_id: String, name: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.rename_device(&customer_token, &device_id, &name).await })
    }

    /// The customer's library: what they own or rent, newest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<LibraryItem[]>")]
    pub fn library(&self, customer_token: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.library(&customer_token).await })
    }

    /// Asks the server for a license's status.
    #[wasm_bindgen(js_name = checkStatus, unchecked_return_type = "Promise<LicenseInfo>")]
    pub fn check_status(&self, license_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.check_status(&license_id).await })
    }

    /// Renews a license.
    #[wasm_bindgen(js_name = renewLicense, unchecked_return_type = "Promise<LicenseInfo>")]
    pub fn renew_license(&self, customer_token: String, license_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.renew_license(&customer_token, &license_id).await })
    }

    /// Returns a license.
    #[wasm_bindgen(js_name = returnLicense, unchecked_return_type = "Promise<LicenseInfo>")]
    pub fn return_license(&self, customer_token: String, license_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.return_license(&customer_token, &license_id).await })
    }

    /// How downloads run.
    #[wasm_bindgen(js_name = downloadSettings, unchecked_return_type = "Promise<DownloadSettings>")]
    pub fn download_settings(&self) -> Promise {
        let c = self.0.clone();
        promise(async move { c.download_settings().await })
    }

    /// Sets how downloads run.
    #[wasm_bindgen(js_name = setDownloadSettings, unchecked_return_type = "Promise<void>")]
    pub fn set_download_settings(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DownloadSettings")] settings: JsValue,
    ) -> Promise {
        let c = self.0.clone();
        settle_promise(Box::pin(async move {
            let settings: DownloadSettings = serde_wasm_bindgen::from_value(settings)
                .map_err(|_| js_error(ClientError::InvalidArgument("download settings")))?;
            to_js(&c.set_download_settings(settings).await.map_err(js_error)?)
        }))
    }

    /// Adds a title to the download queue.
    #[wasm_bindgen(js_name = enqueueDownload, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn enqueue_download(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.enqueue_download(&title_id).await })
    }

    /// Downloads the queued titles in turn, calling `listener` with each progress.
    #[wasm_bindgen(js_name = runDownloads, unchecked_return_type = "Promise<DownloadProgress[]>")]
    pub fn run_downloads(&self, listener: Option<js_sys::Function>) -> Promise {
        let c = self.0.clone();
        promise(async move { c.run_downloads(&|p| notify(listener.as_ref(), p)).await })
    }

    /// Downloads one title now, calling `listener` with its progress.
    #[wasm_bindgen(js_name = downloadTitle, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn download_title(&self, title_id: String, listener: Option<js_sys::Function>) -> Promise {
        let c = self.0.clone();
        promise(async move { c.download_title(&title_id, &|p| notify(listener.as_ref(), p)).await })
    }

    /// Pauses a title's download.
    #[wasm_bindgen(js_name = pauseDownload, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn pause_download(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.pause_download(&title_id).await })
    }

    /// Queues a paused or failed download again.
    #[wasm_bindgen(js_name = resumeDownload, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn resume_download(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.resume_download(&title_id).await })
    }

    /// Cancels a title's download and removes what it stored.
    #[wasm_bindgen(js_name = cancelDownload, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn cancel_download(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.cancel_download(&title_id).await })
    }

    /// A title's download as it stands.
    #[wasm_bindgen(js_name = downloadProgress, unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn download_progress(&self, title_id: String) -> Promise {
        let c = self.0.clone();
        promise(async move { c.download_progress(&title_id).await })
    }

    /// Every queued title's download.
    #[wasm_bindgen(unchecked_return_type = "Promise<DownloadProgress[]>")]
    pub fn downloads(&self) -> Promise {
        let c = self.0.clone();
        promise(async move { c.downloads().await })
    }

    /// Storage taken by downloads.
    #[wasm_bindgen(js_name = storageUsage, unchecked_return_type = "Promise<StorageUsage>")]
    pub fn storage_usage(&self) -> Promise {
        let c = self.0.clone();
        promise(async move { c.storage_usage().await })
    }
}

/// A title opened for playing.
#[wasm_bindgen(js_name = WasmTitle)]
pub struct WasmTitle(std::rc::Rc<OpenTitle<Host, Host>>);

#[wasm_bindgen(js_class = WasmTitle)]
impl WasmTitle {
    /// The title id.
    #[wasm_bindgen(getter, js_name = titleId)]
    pub fn title_id(&self) -> String {
        self.0.title_id().to_owned()
    }

    /// The title's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// The author.
    #[wasm_bindgen(getter)]
    pub fn author(&self) -> Option<String> {
        self.0.author().map(str::to_owned)
    }

    /// Total seconds.
    #[wasm_bindgen(getter)]
    pub fn duration(&self) -> f64 {
        self.0.duration()
    }

    /// The tracks.
    #[wasm_bindgen(unchecked_return_type = "TrackInfo[]")]
    pub fn tracks(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0.tracks())
    }

    /// The chapters.
    #[wasm_bindgen(unchecked_return_type = "ChapterInfo[]")]
    pub fn chapters(&self) -> Result<JsValue, JsValue> {
        to_js(&self.0.chapters())
    }

    /// Where a point of the timeline falls.
    #[wasm_bindgen(unchecked_return_type = "PositionInfo")]
    pub fn locate(&self, seconds: f64) -> Result<JsValue, JsValue> {
        to_js(&self.0.locate(seconds))
    }

    /// The same read for JavaScript that opens the chunks with WebCrypto's AES-GCM (hardware
    /// AES, which WebAssembly lacks): `{ key, sealed, chunks, skip, length }` (`chunks` packed,
    /// as `PackedChunks` says), or `undefined` for an empty read at the end of the track. `key` is the AES
    /// key of that one track's file.
    #[wasm_bindgen(js_name = readSealed, unchecked_return_type = "Promise<SealedRead | undefined>")]
    pub fn read_sealed(&self, track: u32, offset: f64, length: f64) -> Promise {
        let t = self.0.clone();
        settle_promise(Box::pin(async move {
            // JavaScript numbers: byte offsets below 2^53 are exact.
            let read = t.read_sealed(track, offset.max(0.0) as u64, length.max(0.0) as u64).await.map_err(js_error)?;
            Ok(read.map_or(JsValue::UNDEFINED, |read| sealed_read(&read).into()))
        }))
    }

    /// The same read planned, for JavaScript that fetches the sealed range itself and opens
    /// each chunk as it arrives: as `readSealed`, with `sealed` only when the bytes are on
    /// the device, else `request` (to send as the host's transport would). `undefined` for an
    /// empty read at the end of the track.
    #[wasm_bindgen(js_name = planSealed, unchecked_return_type = "Promise<SealedPlan | undefined>")]
    pub fn plan_sealed(&self, track: u32, offset: f64, length: f64) -> Promise {
        let t = self.0.clone();
        settle_promise(Box::pin(async move {
            // JavaScript numbers: byte offsets below 2^53 are exact.
            let plan = t.plan_sealed(track, offset.max(0.0) as u64, length.max(0.0) as u64).await.map_err(js_error)?;
            match plan {
                Some(plan) => Ok(sealed_plan(&plan)?.into()),
                None => Ok(JsValue::UNDEFINED),
            }
        }))
    }

    /// Saves the listening position.
    #[wasm_bindgen(js_name = savePosition, unchecked_return_type = "Promise<void>")]
    pub fn save_position(&self, seconds: f64) -> Promise {
        let t = self.0.clone();
        promise(async move { t.save_position(seconds).await })
    }

    /// The saved listening position.
    #[wasm_bindgen(unchecked_return_type = "Promise<number | undefined>")]
    pub fn position(&self) -> Promise {
        let t = self.0.clone();
        promise(async move { t.position().await })
    }
}

/// What the SDK offers beyond what the widget's player uses: left out of the player's build
/// (`--no-default-features`), which ships only what it calls.
#[cfg(feature = "sdk")]
#[wasm_bindgen(js_class = WasmTitle)]
impl WasmTitle {
    /// Decrypted bytes of a track, opened by the core's own AES (for JavaScript without
    /// WebCrypto; the player always has it: service workers exist only in secure contexts).
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn read(&self, track: u32, offset: f64, length: f64) -> Promise {
        let t = self.0.clone();
        settle_promise(Box::pin(async move {
            // JavaScript numbers: byte offsets below 2^53 are exact.
            let bytes = t.read(track, offset.max(0.0) as u64, length.max(0.0) as u64).await.map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        }))
    }

    /// Downloads the title for offline use.
    #[wasm_bindgen(unchecked_return_type = "Promise<DownloadProgress>")]
    pub fn download(&self) -> Promise {
        let t = self.0.clone();
        promise(async move { t.download().await })
    }

    /// Whether the title is downloaded.
    #[wasm_bindgen(getter, js_name = isDownloaded)]
    pub fn is_downloaded(&self) -> bool {
        self.0.is_downloaded()
    }

    /// Removes the download.
    #[wasm_bindgen(js_name = removeDownload, unchecked_return_type = "Promise<void>")]
    pub fn remove_download(&self) -> Promise {
        let t = self.0.clone();
        promise(async move { t.remove_download().await })
    }

    /// Adds a bookmark.
    #[wasm_bindgen(js_name = addBookmark, unchecked_return_type = "Promise<BookmarkInfo>")]
    pub fn add_bookmark(&self, seconds: f64, note: Option<String>) -> Promise {
        let t = self.0.clone();
        promise(async move { t.add_bookmark(seconds, note).await })
    }

    /// The bookmarks.
    #[wasm_bindgen(unchecked_return_type = "Promise<BookmarkInfo[]>")]
    pub fn bookmarks(&self) -> Promise {
        let t = self.0.clone();
        promise(async move { t.bookmarks().await })
    }

    /// Removes a bookmark.
    #[wasm_bindgen(js_name = removeBookmark, unchecked_return_type = "Promise<boolean>")]
    pub fn remove_bookmark(&self, id: String) -> Promise {
        let t = self.0.clone();
        promise(async move { t.remove_bookmark(&id).await })
    }

    /// Syncs the position and bookmarks with the server (the latest change wins).
    #[wasm_bindgen(js_name = syncListening, unchecked_return_type = "Promise<SyncReport>")]
    pub fn sync_listening(&self, customer_token: String) -> Promise {
        let t = self.0.clone();
        promise(async move { t.sync_listening(&customer_token).await })
    }
}
