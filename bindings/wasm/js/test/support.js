// What the SDK's tests share: the running demo's facts, its store API, a static file server
// for the browser tests' pages, and headless Chromium. scripts/test-js.sh starts the demo and
// sets FOUNT_DEMO_JSON.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';

// Every request these tests make, the SDK's included, has a deadline: a server that hangs
// fails the test in seconds, never holds up the test command.
const untimedFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => untimedFetch(url, { signal: AbortSignal.timeout(30_000), ...init });

export const demo = JSON.parse(readFileSync(process.env.FOUNT_DEMO_JSON, 'utf8'));

/** Calls the demo store's API with its API key; asserts success and returns the JSON. */
export async function store(method, path, body = {}) {
  const r = await fetch(demo.base_url + path, {
    method,
    headers: { authorization: `Bearer ${demo.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status}`);
  return r.json();
}

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

/**
 * Serves files under `root` on 127.0.0.1, its own origin, so every call to the Fount server
 * is cross-origin as on a real site. `page(path)` may answer a path itself (a string of
 * HTML), or refuse it (`false`); otherwise the file is served. Resolves with
 * `{ server, origin }`.
 */
export async function staticServer(root, page = () => undefined) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const own = page(path);
    if (own === false) return res.writeHead(404).end();
    if (typeof own === 'string') return res.writeHead(200, { 'content-type': 'text/html' }).end(own);
    const file = path.endsWith('/') ? `${path}index.html` : path;
    let body;
    try {
      body = await readFile(join(root, file));
    } catch {
      return res.writeHead(404).end();
    }
    return res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Headless Chromium (playwright-core comes from the repository's tools/, via NODE_PATH: the
 * package itself depends on nothing). */
export function launchChromium() {
  const { chromium } = createRequire(import.meta.url)('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}
