// The page's stream worker: the SDK's, served from the page's folder so that its scope
// covers the page (an app serves the same one line from its root).
import '../../bindings/wasm/js/src/stream-worker.js';
