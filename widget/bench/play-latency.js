// The widget's speed, in headless Chromium against a live `fount-server demo`:
//
// * click on Play to the `playing` event, in the widget (license held, title open, the page
//   loaded as a returning listener finds it) against a plain <audio> element playing the
//   same file unencrypted, from a static server on the same machine, in the same run,
//   alternating; the ratio of the medians is the figure (target at most 2);
// * the bytes everything the widget loads takes, gzipped, on a first visit.
//
// Prints JSON lines. Run by `scripts/bench.sh widget`.
import { gzipSync } from 'node:zlib';

import { demo, grant, launch, newPage, player, startStore, waitEvent } from '../test/support.js';

const ROUNDS = Number(process.env.FOUNT_BENCH_ROUNDS ?? 15);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

/**
 * Clicks `button` in `frame` and resolves with the ms until `audio` fires `playing`. `cold`
 * first drops what the element has buffered (`load()`), so the click waits for the first
 * bytes to be fetched (and, in the widget, decrypted) and decoded.
 */
const clickToPlaying = (frame, audioSelector, buttonSelector, cold) => frame.evaluate(([a, b, c]) => new Promise((resolve) => {
  const audio = document.querySelector(a);
  const button = document.querySelector(b);
  if (c) audio.load();
  let t0;
  audio.addEventListener('playing', () => resolve(performance.now() - t0), { once: true });
  t0 = performance.now();
  button.click();
}), [audioSelector, buttonSelector, cold]);

const store = await startStore();
const browser = await launch();
try {
  // The size of a first visit: everything the player loads from the Fount server, except
  // the API's answers and the sealed audio.
  await grant('bench-listener');
  const first = await newPage(browser);
  const loaded = new Map();
  first.context().on('response', (r) => {
    const url = new URL(r.url());
    if (url.origin === demo.base_url && (url.pathname === '/widget.js' || url.pathname.startsWith('/widget/'))
      && r.request().method() === 'GET' && r.status() === 200) loaded.set(url.pathname, r);
  });
  await first.goto(`${store.origin}/shop?user=bench-listener`);
  await waitEvent(first, 'ready', 'player');
  const files = [];
  for (const [path, response] of loaded) {
    const body = await response.body().catch(() => null);
    if (body) files.push({ path, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
  }
  // The service worker's script is fetched by the browser, outside any page.
  const sw = Buffer.from(await (await fetch(`${demo.base_url}/widget/sw.js`)).arrayBuffer());
  files.push({ path: '/widget/sw.js', bytes: sw.length, gzip: gzipSync(sw, { level: 9 }).length });
  files.sort((a, b) => b.gzip - a.gzip);
  console.log(JSON.stringify({
    bench: 'widget_size', files, total_bytes: files.reduce((s, f) => s + f.bytes, 0), total_gzip: files.reduce((s, f) => s + f.gzip, 0),
  }));
  await first.context().close();

  // Click to playing, alternating widget and plain element, each on a freshly loaded page:
  // once as a listener finds the page (metadata loaded), once cold.
  const page = await newPage(browser);
  const times = { widget: { warm: [], cold: [] }, plain: { warm: [], cold: [] } };
  for (let i = 0; i < ROUNDS + 1; i += 1) {
    for (const cold of [false, true]) {
      const mode = cold ? 'cold' : 'warm';
      await page.goto(`${store.origin}/shop?user=bench-listener`);
      await waitEvent(page, 'ready', 'player');
      const frame = player(page);
      await frame.waitForFunction(() => document.querySelector('audio').readyState >= 1);
      const w = await clickToPlaying(frame, 'audio', '.play', cold);
      await page.goto(`${store.origin}/plain`);
      await page.waitForFunction(() => document.querySelector('#plain').readyState >= 1);
      const p = await clickToPlaying(page.mainFrame(), '#plain', '#go', cold);
      // The first round warms caches and the service worker; it is not counted.
      if (i > 0) { times.widget[mode].push(w); times.plain[mode].push(p); }
    }
  }
  for (const mode of ['warm', 'cold']) {
    const [w, p] = [times.widget[mode], times.plain[mode]];
    console.log(JSON.stringify({
      bench: 'widget_click_to_playing', mode, rounds: ROUNDS,
      widget_median_ms: +median(w).toFixed(1), widget_p90_ms: +p90(w).toFixed(1),
      plain_median_ms: +median(p).toFixed(1), plain_p90_ms: +p90(p).toFixed(1),
      ratio: +(median(w) / median(p)).toFixed(2),
    }));
  }
} finally {
  await browser.close();
  store.server.close();
}
