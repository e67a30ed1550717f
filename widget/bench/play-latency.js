// The widget's speed, in headless Chromium against a live `fount-server demo`:
//
// * click on Play to the `playing` event, in the widget (license held, title open, the page
//   loaded as a returning listener finds it) against a plain <audio> element playing the
//   same file unencrypted, from a static server on the same machine, in the same run,
//   alternating; the ratio of the medians is the figure (target at most 1.3); on this
//   machine's loopback, then again with every request through a slow link (./link.js);
// * the service worker's decryption throughput, a whole track streamed to the player;
// * the bytes everything the widget loads on a first visit takes on the wire: as Chromium
//   received it (it offers Brotli), and as the server sends it to a client that offers only
//   gzip, and to one that offers nothing.
//
// Prints JSON lines. Run by `scripts/bench.sh widget`.
import { get } from 'node:http';

import { demo, grant, launch, newPage, player, startStore, waitEvent } from '../test/support.js';
import { startLink } from './link.js';

const ROUNDS = Number(process.env.FOUNT_BENCH_ROUNDS ?? 15);
// The slow link: a good mobile connection, 9 Mbit/s down with a 60 ms round trip.
const LINK = { rtt: 60, mbit: 9 };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

/**
 * Clicks `button` in `frame` and resolves with the ms until `audio` fires `playing`. `cold`
 * first points the element at the same file under a URL it has never seen (a query both
 * servers ignore), so the click waits for the first bytes to be fetched (and, in the widget,
 * decrypted) and decoded. `load()` alone is not cold: Chromium keeps the bytes it buffered
 * by URL, and plays them again without a request.
 */
const clickToPlaying = (frame, audioSelector, buttonSelector, cold) => frame.evaluate(([a, b, c]) => new Promise((resolve) => {
  const audio = document.querySelector(a);
  const button = document.querySelector(b);
  if (c) audio.src = `${audio.src.split('?')[0]}?cold=${Math.random()}`;
  let t0;
  audio.addEventListener('playing', () => resolve(performance.now() - t0), { once: true });
  t0 = performance.now();
  button.click();
}), [audioSelector, buttonSelector, cold]);

/** The bytes of `path`'s body as the server sends it to a client offering `accept`. */
const wire = (path, accept) => new Promise((resolve, reject) => {
  const request = get(`${demo.base_url}${path}`, { headers: { 'accept-encoding': accept }, timeout: 10_000 }, (res) => {
    let bytes = 0;
    res.on('data', (chunk) => { bytes += chunk.length; });
    res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${path}: ${res.statusCode}`))));
  });
  request.on('timeout', () => request.destroy(new Error(`${path}: no answer within 10 s`)));
  request.on('error', reject);
});

/**
 * Click to playing, alternating widget and plain element, each on a freshly loaded page of
 * `page`'s browser: once as a listener finds the page (metadata loaded), once cold. Prints
 * each mode's medians, labelled with `link`.
 */
async function clicks(page, link) {
  const times = { widget: { warm: [], cold: [] }, plain: { warm: [], cold: [] } };
  // Cold is a first fetch: the sealed files are immutable and cacheable (their names change
  // with their bytes), so without this the worker's fetch would be answered from the HTTP
  // cache of an earlier round, while the plain element's never is (its server sends no
  // cache headers, and each cold round asks for a new URL).
  const cdp = await page.context().newCDPSession(page);
  const clearCache = () => cdp.send('Network.clearBrowserCache');
  for (let i = 0; i < ROUNDS + 1; i += 1) {
    for (const cold of [false, true]) {
      const mode = cold ? 'cold' : 'warm';
      await page.goto(`${store.origin}/shop?user=bench-listener`);
      await waitEvent(page, 'ready', 'player');
      const frame = player(page);
      await frame.waitForFunction(() => document.querySelector('audio').readyState >= 1);
      if (cold) await clearCache();
      const w = await clickToPlaying(frame, 'audio', '.play', cold);
      await page.goto(`${store.origin}/plain`);
      await page.waitForFunction(() => document.querySelector('#plain').readyState >= 1);
      if (cold) await clearCache();
      const p = await clickToPlaying(page.mainFrame(), '#plain', '#go', cold);
      // The first round warms caches and the service worker; it is not counted.
      if (i > 0) { times.widget[mode].push(w); times.plain[mode].push(p); }
    }
  }
  for (const mode of ['warm', 'cold']) {
    const [w, p] = [times.widget[mode], times.plain[mode]];
    console.log(JSON.stringify({
      bench: 'widget_click_to_playing', mode, link, rounds: ROUNDS,
      widget_median_ms: +median(w).toFixed(1), widget_p90_ms: +p90(w).toFixed(1),
      plain_median_ms: +median(p).toFixed(1), plain_p90_ms: +p90(p).toFixed(1),
      ratio: +(median(w) / median(p)).toFixed(2),
    }));
  }
}

const store = await startStore();
const browser = await launch();
try {
  // The size of a first visit: everything the widget loads from the Fount server (the
  // loader, the player's page, scripts, styles and wasm, the embed check), not the API's /v1
  // answers or the sealed audio.
  await grant('bench-listener');
  const first = await newPage(browser);
  const loaded = new Set();
  first.context().on('response', (r) => {
    const url = new URL(r.url());
    if (url.origin === demo.base_url && (url.pathname === '/widget.js' || url.pathname.startsWith('/widget/'))
      && r.request().method() === 'GET' && r.status() === 200) loaded.add(url.pathname + url.search);
  });
  await first.goto(`${store.origin}/shop?user=bench-listener`);
  await waitEvent(first, 'ready', 'player');
  // Each file again, as the server sends it to a client offering what Chromium offers, only
  // gzip, or nothing (Chromium's own count misses what its workers fetch). The service
  // worker's script is fetched by the browser, outside any page.
  const files = [];
  for (const path of [...loaded, '/widget/sw.js']) {
    files.push({
      path,
      chromium: await wire(path, 'gzip, deflate, br, zstd'),
      gzip: await wire(path, 'gzip'),
      none: await wire(path, 'identity'),
    });
  }
  files.sort((a, b) => b.gzip - a.gzip);
  const total = (k) => files.reduce((s, f) => s + f[k], 0);
  console.log(JSON.stringify({
    bench: 'widget_size', files, total_chromium: total('chromium'), total_gzip: total('gzip'), total_none: total('none'),
  }));
  await first.context().close();

  // Click to playing on this machine's loopback, then through a slow link.
  const page = await newPage(browser);
  await clicks(page, 'loopback');
  const link = await startLink(LINK);
  const slow = await launch({ proxy: link.url });
  try {
    await clicks(await newPage(slow), LINK);
  } finally {
    await slow.close();
    await link.close();
  }

  // The service worker's decryption: the player's frame fetches the whole track from it, as
  // the <audio> element does, so the worker reads it 1 MiB at a time (the sealed ranges from
  // the server, the chunks opened by WebCrypto). Best of several passes, after one to warm.
  await page.goto(`${store.origin}/shop?user=bench-listener`);
  await waitEvent(page, 'ready', 'player');
  const stream = await player(page).evaluate(async ([title, passes]) => {
    const pass = async () => {
      const t0 = performance.now();
      const body = await (await fetch(`/widget/stream/${encodeURIComponent(title)}/0`)).arrayBuffer();
      return { ms: performance.now() - t0, bytes: body.byteLength };
    };
    await pass();
    let best = { ms: Infinity, bytes: 0 };
    for (let i = 0; i < passes; i += 1) {
      const p = await pass();
      if (p.ms < best.ms) best = p;
    }
    return best;
  }, [demo.title_id, 10]);
  console.log(JSON.stringify({
    bench: 'widget_stream', bytes: stream.bytes, ms: +stream.ms.toFixed(2), mb_per_s: +(stream.bytes / stream.ms / 1e3).toFixed(1),
  }));
} finally {
  await browser.close();
  store.server.close();
}
