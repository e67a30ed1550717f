// What the widget's browser tests and benchmark share: a static "store" web server (the
// example store page, pages for each case, and a stand-in for the store's backend that mints
// customer tokens), the store API of the running demo, and headless Chromium.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Every request these tests make, the SDK's included, has a deadline: a server that hangs
// fails the test in seconds, never holds up the test command.
const untimedFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => untimedFetch(url, { signal: AbortSignal.timeout(30_000), ...init });

const { chromium } = createRequire(import.meta.url)('playwright-core');
const repo = fileURLToPath(new URL('../../', import.meta.url));

export const demo = JSON.parse(readFileSync(process.env.FOUNT_DEMO_JSON, 'utf8'));
export const sample = readFileSync(`${repo}examples/media/sample.mp3`);
/** The sample's chapters (examples/media/make-sample.sh). */
export const CHAPTERS = [0, 12.853, 25.308];

/** The stores the pages sell for, by name: the demo's, and a real one (`realStore`). */
const stores = { demo: { key: demo.api_key, title: demo.title_id } };

/** Calls a store's API (the demo store's by default) with its API key. */
export async function storeApi(method, path, body, store = 'demo') {
  const r = await fetch(demo.base_url + path, {
    method,
    headers: { authorization: `Bearer ${stores[store].key}`, 'content-type': body instanceof Buffer ? 'audio/mpeg' : 'application/json' },
    body: body === undefined || body instanceof Buffer ? body : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Uploads the sample to a title and waits for the worker that packages it: the upload is
 * answered 202 with its job, and the track is in the manifest once the job completes.
 */
async function uploadSample(titleId, store) {
  const { job } = await storeApi('POST', `/v1/titles/${titleId}/tracks?filename=sample.mp3`, sample, store);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await storeApi('GET', `/v1/jobs/${job.id}`, undefined, store);
    if (state.state === 'completed') return state;
    assert.notEqual(state.state, 'dead', `packaging the sample failed: ${JSON.stringify(state)}`);
    assert.ok(Date.now() < deadline, `packaging the sample took over a minute: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Grants a store's title to a customer of the store (the store's id for its user). */
export const grant = (customer, store = 'demo') => storeApi('POST', '/v1/entitlements', { customer, title: stores[store].title, kind: 'purchase' }, store);
/** A customer token, as the store's backend mints one for its signed-in user. */
export const tokenFor = async (customer, store = 'demo') => (await storeApi('POST', `/v1/customers/${encodeURIComponent(customer)}/tokens`, {}, store)).token;

/**
 * A store that is not a demo store, made as an operator does (`fount-server store create`
 * and `apikey create` on the demo's data folder), selling the sample through its own
 * checkout page on `origin`, which it allows to embed the widget. Returns its title id.
 */
export async function realStore(origin) {
  if (stores.real) return stores.real.title;
  const bin = process.env.FOUNT_SERVER_BIN;
  const data = process.env.FOUNT_DEMO_JSON.replace(/\/demo\.json$/, '');
  const cli = (...args) => execFileSync(bin, [...args, '--data', data], { env: { ...process.env, FOUNT_LOG: 'warn' } }).toString();
  const created = JSON.parse(cli('store', 'create', '--name', 'Riverside Audio'));
  stores.real = { key: cli('apikey', 'create', '--store', created.id).trim() };
  const title = await storeApi('POST', '/v1/titles', {
    title: 'The Fount Sampler', author: 'Fount', price: '6.00', currency: 'USD', checkout_url: `${origin}/checkout`,
  }, 'real');
  await uploadSample(title.id, 'real');
  await storeApi('PATCH', '/v1/store', { allowed_origins: [origin] }, 'real');
  stores.real.title = title.id;
  // A second title, not on sale: no price, no checkout.
  const unsold = await storeApi('POST', '/v1/titles', { title: 'Not for Sale', author: 'Fount' }, 'real');
  await uploadSample(unsold.id, 'real');
  stores.unsold = { key: stores.real.key, title: unsold.id };
  return title.id;
}

const html = (body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Test shop</title></head>
<body style="margin:0;padding:12px;font-family:sans-serif">${body}</body></html>`;

function pages(url) {
  const loader = `<script src="${demo.base_url}/widget.js" async></script>`;
  const user = url.searchParams.get('user') ?? '';
  const store = url.searchParams.get('store') ?? 'demo';
  const theme = url.searchParams.get('theme') || 'auto';
  switch (url.pathname) {
    case '/':
      // The example store, as its README serves it, pointed at this run's server.
      return readFileSync(`${repo}examples/store/index.html`, 'utf8').replaceAll('http://127.0.0.1:8080', demo.base_url);
    case '/shop':
      // A signed-in user of the store: the widget asks the store's backend for a token.
      return html(`<h1>Shop</h1><div id="w" data-fount-title="${stores[store].title}" data-fount-theme="${theme}"
        data-fount-token-url="/api/fount-token?${new URLSearchParams({ user, store })}"></div>${loader}`);
    case '/checkout':
      // The store's own checkout: it knows its user from `client_reference_id` here (a real
      // one from its session), takes the payment, and its backend grants the title.
      return html(`<h1>Checkout</h1><button id="pay">Pay</button><script>
        document.getElementById('pay').onclick = () => fetch('/api/paid?' + new URLSearchParams({
          user: atob(new URLSearchParams(location.search).get('client_reference_id').replace(/-/g, '+').replace(/_/g, '/')),
        }), { method: 'POST' });</script>`);
    case '/missing':
      // A snippet naming a title that does not exist.
      return html(`<div id="w" data-fount-title="no-such-title"></div>${loader}`);
    case '/later':
      // A single-page app that adds the player after it starts, as a custom element.
      return html(`${loader}<script>setTimeout(() => { const p = document.createElement('fount-player');
        p.setAttribute('title', ${JSON.stringify(demo.title_id)}); p.id = 'w'; document.body.append(p); }, 300);</script>`);
    case '/plain':
      // The benchmark's reference: the same audio, unencrypted, in a plain element.
      return html(`<audio id="plain" preload="metadata" src="/sample.mp3"></audio><button id="go">Play</button>
        <script>document.getElementById('go').onclick = () => document.getElementById('plain').play();</script>`);
    default:
      return null;
  }
}

function sendSample(req, res) {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  const headers = { 'content-type': 'audio/mpeg', 'accept-ranges': 'bytes' };
  if (!range) return res.writeHead(200, { ...headers, 'content-length': sample.length }).end(sample);
  const start = Number(range[1]);
  const end = range[2] ? Math.min(Number(range[2]), sample.length - 1) : sample.length - 1;
  res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${sample.length}`, 'content-length': end - start + 1 });
  return res.end(sample.subarray(start, end + 1));
}

/** Starts the store's web server on FOUNT_STORE_PORT (an origin the demo store allows). */
export async function startStore() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://store');
    try {
      if (url.pathname === '/api/fount-token') {
        // The store's backend: a token for its signed-in user, or 401 when nobody is.
        const user = url.searchParams.get('user');
        if (!user) return res.writeHead(401).end();
        const token = await tokenFor(user, url.searchParams.get('store') ?? 'demo');
        return res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ token }));
      }
      if (url.pathname === '/api/paid' && req.method === 'POST') {
        await grant(url.searchParams.get('user'), 'real');
        return res.writeHead(204).end();
      }
      if (url.pathname === '/sample.mp3') return sendSample(req, res);
      const page = pages(url);
      if (page === null) return res.writeHead(404).end();
      return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } catch (e) {
      return res.writeHead(500).end(String(e));
    }
  });
  const port = Number(process.env.FOUNT_STORE_PORT);
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  // The store's allowed origin, and the same server under an origin it did not allow.
  return { server, origin: `http://localhost:${port}`, otherOrigin: `http://127.0.0.1:${port}` };
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];

/**
 * Headless Chromium as users have it. playwright-core's default flags turn off third-party
 * storage partitioning, which Chrome has shipped since version 115, and without it Chromium
 * refuses a framed player's storage; so its defaults are replaced. `thirdPartyStorage: false`
 * keeps them, to test the player in a browser that refuses it. `proxy`: an HTTP proxy every
 * request goes through.
 */
export function launch({ thirdPartyStorage = true, proxy } = {}) {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!thirdPartyStorage) return chromium.launch({ executablePath, args: FLAGS.slice(1) });
  // Through `proxy` (the benchmark's slow link), loopback included, which Chromium otherwise
  // reaches directly.
  const through = proxy ? [`--proxy-server=${proxy}`, '--proxy-bypass-list=<-loopback>'] : [];
  return chromium.launch({ executablePath, ignoreDefaultArgs: true, args: ['--remote-debugging-pipe', ...FLAGS, ...through] });
}

/** A page in a new browser profile, with the widget's DOM events recorded in `window.fountEvents`. */
export async function newPage(browser, viewport = { width: 1024, height: 800 }, contextOptions = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.fountEvents = [];
    for (const type of ['ready', 'purchased', 'play', 'pause', 'ended', 'error', 'signin-required', 'device-removed']) {
      document.addEventListener(`fount:${type}`, (e) => window.fountEvents.push({ type, detail: e.detail, at: performance.now() }));
    }
  });
  return page;
}

/**
 * Screenshots `page` at a phone's width and a desktop's, as `artifacts/widget-<name>-phone.png`
 * and `-desktop.png`; the page is left at the desktop size.
 */
export async function screenshots(page, artifacts, name) {
  for (const [size, viewport] of [['phone', { width: 375, height: 740 }], ['desktop', { width: 1280, height: 800 }]]) {
    await page.setViewportSize(viewport);
    await page.waitForFunction((w) => window.innerWidth === w, viewport.width);
    await new Promise((r) => setTimeout(r, 300));
    await page.screenshot({ path: `${artifacts}widget-${name}-${size}.png`, fullPage: true });
  }
}

/** The bytes a response takes on the wire (not decompressed) when `encoding` is accepted. */
export function wireBytes(url, encoding) {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers: { 'accept-encoding': encoding }, timeout: 10_000 }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'] ?? 'identity' }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 10 s`)));
    req.on('error', reject);
  });
}

/** Responses from the Fount server with an error status, as a visitor's console shows them. */
export function errorResponses(page) {
  const seen = [];
  page.on('response', (r) => {
    if (r.url().startsWith(demo.base_url) && r.status() >= 400) seen.push(`${r.status()} ${r.url()}`);
  });
  return seen;
}

/** Waits for a widget event matching `type` (and `detail.state`, when given); returns it. */
export async function waitEvent(page, type, state, timeout = 20_000) {
  const handle = await page.waitForFunction(
    ([t, s]) => window.fountEvents.find((e) => e.type === t && (!s || e.detail?.state === s)),
    [type, state], { timeout },
  );
  return handle.jsonValue();
}

/** The player's frame. */
export function player(page) {
  const frame = page.frames().find((f) => f.url().startsWith(`${demo.base_url}/widget/player`));
  assert.ok(frame, 'the player frame is on the page');
  return frame;
}

/** The player's `<audio>` state. */
export const audioState = (frame) => frame.evaluate(() => {
  const a = document.querySelector('audio');
  return { time: a.currentTime, paused: a.paused, rate: a.playbackRate, src: a.currentSrc, pitch: a.preservesPitch };
});

/** Waits until `predicate(audio state)` holds. */
export async function waitAudio(frame, predicate, what, timeout = 15_000) {
  const until = Date.now() + timeout;
  let state;
  while (Date.now() < until) {
    state = await audioState(frame);
    if (predicate(state)) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: last state ${JSON.stringify(state)}`);
}
