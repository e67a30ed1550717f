// The widget's player, inside the iframe on the Fount server's origin: it gets the customer
// token from the host page (or, for a demo store, a visitor session), acquires a license with
// the wasm SDK, and plays through the service worker (sw.js), which decrypts ranges for the
// <audio> element. Without a service worker it falls back to decrypting whole tracks into
// blob: URLs, which only this origin can read.
import {
  DeviceLimitReachedError, FountClient, FountError, NotEntitledError, UnauthorizedError,
} from '/widget/sdk/src/index.js';

const config = JSON.parse(document.getElementById('fount-config').textContent);
const titleId = config.title.id;
const $ = (selector) => document.querySelector(selector);
const main = $('.fount');
const audio = $('audio');
const seekBar = $('.seek-bar');
const playButton = $('.play');
const speed = $('.speed select');
const tocList = $('.toc');

// Messages to and from the host. The host is the page that frames this player, or, when this
// player runs in its own tab (see `showElsewhere`), the framed player that opened it. Incoming
// messages must come from that exact window and from an allowed origin: the store's allowed
// origins (the same list the frame-ancestors policy uses) for a host page, this origin for an
// opener.
const allowed = new Set(config.allowedOrigins);
const framed = window.parent !== window;
document.documentElement.classList.toggle('standalone', !framed);
const host = framed
  ? { window: window.parent, origins: allowed, target: '*' }
  : (window.opener ? { window: window.opener, origins: new Set([location.origin]), target: location.origin } : null);
if (framed) {
  // Events carry nothing secret, and only allowed origins can frame this page at all; still,
  // name the parent's origin when the browser tells it.
  const parentOrigin = location.ancestorOrigins?.[0] ?? (document.referrer ? new URL(document.referrer).origin : null);
  if (parentOrigin && allowed.has(parentOrigin)) host.target = parentOrigin;
}
function toParent(type, detail = {}) {
  host?.window.postMessage({ type, ...detail }, host.target);
}

let tokenWaiter = null;
let checkoutWindow = null;
let playerTab = null;
window.addEventListener('message', async (event) => {
  const data = event.data || {};
  if (typeof data.type !== 'string') return;
  if (event.source === checkoutWindow && event.origin === location.origin && data.type === 'fount:checkout-complete') {
    checkEntitlement().catch(fail);
    return;
  }
  if (playerTab && event.source === playerTab && event.origin === location.origin) {
    // This frame stands in for the player in its own tab: tokens come from the host page
    // through here, events go out to it.
    if (data.type === 'fount:hello' || data.type === 'fount:need-token') {
      const t = await askParent(data.type);
      playerTab.postMessage({ type: 'fount:token', token: t }, location.origin);
    } else if (data.type !== 'fount:resize') {
      const { type, ...detail } = data;
      toParent(type, detail);
    }
    return;
  }
  if (!host || event.source !== host.window || !host.origins.has(event.origin)) return;
  if (playerTab && !playerTab.closed && data.type !== 'fount:token') {
    playerTab.postMessage(data, location.origin);
    return;
  }
  switch (data.type) {
    case 'fount:token': {
      const given = typeof data.token === 'string' ? data.token : null;
      if (tokenWaiter) tokenWaiter(given);
      // Unasked: the host page signed its visitor in (el.fount.refresh()), so start over with
      // the new token.
      else if (given && given !== token) { token = given; start(); }
      break;
    }
    case 'fount:play': play(); break;
    case 'fount:pause': audio.pause(); break;
    case 'fount:seek': if (Number.isFinite(data.value)) seekTo(data.value); break;
    default: break;
  }
});

new ResizeObserver(() => toParent('fount:resize', { height: Math.ceil(document.documentElement.scrollHeight) }))
  .observe(document.body);

// Customer tokens: from the host page, or a demo visitor's.
let token = null;
function askParent(type) {
  if (!host) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 4000);
    tokenWaiter = (t) => { clearTimeout(timer); tokenWaiter = null; resolve(t); };
    toParent(type);
  });
}

async function demoToken() {
  let visitor = localStorage.getItem('fount-demo-visitor');
  if (!visitor) {
    visitor = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem('fount-demo-visitor', visitor);
  }
  const r = await fetch('/widget/demo/session', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: titleId, visitor }),
  });
  if (!r.ok) throw new Error(`demo session: HTTP ${r.status}`);
  return (await r.json()).token;
}

async function freshToken(first) {
  token = await askParent(first ? 'fount:hello' : 'fount:need-token');
  if (!token && config.demo) token = await demoToken();
  if (!token) throw new FountError('Sign in to the store to listen.', 'unauthorized');
  return token;
}

/** Runs `f(token)`, getting a new token once if the current one is refused. */
async function withToken(f) {
  try {
    return await f(token ?? await freshToken(true));
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    return f(await freshToken(false));
  }
}

// UI helpers.
const clock = (s) => {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};
function show(section) {
  $('.buy').hidden = section !== 'buy';
  $('.player').hidden = section !== 'player';
  $('.elsewhere').hidden = section !== 'elsewhere';
  $('.account').hidden = section !== 'account';
}
function message(text) {
  $('.message').textContent = text ?? '';
  $('.message').hidden = !text;
  $('.manage-devices').hidden = true;
}
function fail(e) {
  const code = e instanceof FountError ? e.code : 'error';
  if (e instanceof DeviceLimitReachedError) {
    message('This account has reached the number of devices the store allows. Remove one you no longer use to listen here.');
    $('.manage-devices').hidden = false;
  } else {
    message(e.message || String(e));
  }
  toParent('fount:error', { code, message: e.message || String(e) });
}

// The account view: the customer's devices, to remove one they no longer use (reached from the
// device-limit message). The store may allow one removal per period: the view says until when.
const day = (s) => new Date(s * 1000).toLocaleDateString(undefined, { dateStyle: 'medium' });
let before = 'buy';
async function showAccount() {
  before = ['buy', 'player', 'elsewhere'].find((s) => !$(`.${s}`).hidden) ?? 'buy';
  message('');
  const list = await withToken((t) => client.devices(t));
  const wait = list.nextRemovalAt;
  $('.account-note').textContent = wait
    ? `You can remove another device after ${new Date(wait * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}.`
    : `This store allows ${list.limit} device${list.limit === 1 ? '' : 's'}. Removing one signs it out of this store's titles.`;
  const items = list.devices.map((d) => {
    const li = document.createElement('li');
    const what = document.createElement('span');
    what.className = 'what';
    const name = document.createElement('span');
    name.className = 'device-name';
    name.textContent = d.name || 'Unnamed device';
    const since = document.createElement('span');
    since.className = 'since';
    since.textContent = `Added ${day(d.createdAt)}`;
    what.append(name, since);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove ${name.textContent}`);
    remove.disabled = Boolean(wait);
    remove.addEventListener('click', () => removeDevice(d).catch(fail));
    li.append(what, remove);
    return li;
  });
  $('.devices').replaceChildren(...items);
  show('account');
  toParent('fount:ready', { title: titleId, state: 'account' });
  $('#account-title').focus?.();
}

async function removeDevice(device) {
  await withToken((t) => client.removeDevice(t, device.id));
  toParent('fount:device-removed', { device: device.id });
  // A place is free: this browser registers and the title unlocks, as on a first visit.
  registered = false;
  show(before);
  await start();
}

$('.manage-devices').addEventListener('click', () => showAccount().catch(fail));
$('.account-back').addEventListener('click', () => {
  show(before);
  toParent('fount:ready', { title: titleId, state: before });
});

let client = null;
let title = null;
let tracks = [];
let chapters = [];
let current = -1;
let streaming = false;
const blobUrls = [];

function timeline() {
  return current >= 0 ? tracks[current].start + (audio.currentTime || 0) : 0;
}

async function start() {
  try {
    if (config.accent && /^#[0-9a-f]{6}$/i.test(config.accent)) {
      document.documentElement.style.setProperty('--accent', config.accent);
    }
    client ??= await FountClient.create(location.origin);
    // Signed out: sell, and unlock once the store's page has a token (after sign-in).
    if (!token) return showBuy(true);
    if (await checkEntitlement()) return;
    showBuy(false);
  } catch (e) {
    fail(e);
  }
}

function deviceName() {
  const ua = navigator.userAgentData?.platform || navigator.platform || 'web';
  return `Web player (${ua})`.slice(0, 100);
}

/** The customer's access to the title (`owned`, `rented`, `upcoming`, `ended`, `none`). Asked
 * before a license, so that "not bought yet" is an answer rather than a refused request. */
async function access() {
  const r = await withToken((t) => fetch(`/v1/me/titles/${encodeURIComponent(titleId)}`, { headers: { authorization: `Bearer ${t}` } })
    .then((res) => { if (res.status === 401) throw new UnauthorizedError('expired', 'unauthorized'); return res; }));
  if (!r.ok) throw new FountError(`The store answered ${r.status}.`, 'server');
  return r.json();
}

let entitled = false;
let registered = false;
// What the customer's access says, for the buy section (an upcoming start, an ended rental).
let accessNote = '';
/** Acquires a license if the customer has the title; true if they do. */
async function checkEntitlement() {
  if (entitled) return true;
  const entry = await access();
  accessNote = '';
  if (entry.access === 'upcoming') {
    const from = new Date(entry.starts_at * 1000).toLocaleDateString(undefined, { dateStyle: 'long' });
    accessNote = `Yours to listen to from ${from}.`;
  } else if (entry.access === 'ended') {
    accessNote = 'Your rental of this title has ended.';
  }
  if (entry.access !== 'owned' && entry.access !== 'rented') return false;
  if (!registered) {
    await withToken((t) => client.registerDevice(t, deviceName()));
    registered = true;
  }
  try {
    await withToken((t) => client.acquireLicense(t, titleId));
  } catch (e) {
    // The rental ended, or the grant was revoked, since the question above.
    if (e instanceof NotEntitledError) return false;
    throw e;
  }
  entitled = true;
  const wasBuying = !$('.buy').hidden;
  await showPlayer();
  if (wasBuying) toParent('fount:purchased', { title: titleId });
  return true;
}

function showBuy(signedOut) {
  const { price, currency, checkoutUrl } = config.title;
  if (price && currency) {
    try {
      $('.price').textContent = new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(Number(price));
    } catch { /* keep the server's text */ }
  }
  const button = $('.buy-button');
  $('.note').textContent = accessNote;
  if (!config.demo && !checkoutUrl) {
    // Nothing to buy with: no button that looks like it would.
    button.hidden = true;
    $('.price').hidden = true;
    $('.note').textContent = 'This title is not on sale here.';
  } else if (signedOut) {
    $('.note').textContent = 'Already bought it? Sign in to the store to listen.';
  }
  button.hidden = !config.demo && !checkoutUrl;
  button.onclick = buy;
  show('buy');
  toParent('fount:ready', { title: titleId, state: 'buy' });
}

function customerRef() {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return btoa(payload.ref).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  } catch {
    return '';
  }
}

let polling = null;
function buy() {
  // A payment must name its customer: a visitor who is not signed in is asked to, by the
  // host page, which then calls el.fount.refresh().
  if (!config.demo && !token) {
    $('.note').textContent = 'Sign in to the store first, then buy: your purchase is kept in your account.';
    toParent('fount:signin-required', { title: titleId });
    return;
  }
  let url;
  if (config.demo) {
    url = `/widget/demo/checkout?${new URLSearchParams({ title: titleId, visitor: localStorage.getItem('fount-demo-visitor') || '' })}`;
  } else {
    url = new URL(config.title.checkoutUrl);
    const ref = customerRef();
    if (ref) url.searchParams.set('client_reference_id', ref);
  }
  checkoutWindow = window.open(url, 'fount-checkout', 'width=520,height=640');
  $('.note').textContent = 'Complete the purchase in the new window. This player unlocks by itself.';
  // The grant arrives through the store's backend or a payment webhook: look for it.
  clearInterval(polling);
  const until = Date.now() + 15 * 60 * 1000;
  polling = setInterval(async () => {
    if (Date.now() > until) clearInterval(polling);
    try {
      if (await checkEntitlement()) clearInterval(polling);
    } catch (e) {
      // Not signed in yet: keep looking; the checkout may sign them in.
      if (e instanceof FountError && e.code === 'unauthorized') return;
      clearInterval(polling);
      fail(e);
    }
  }, 3000);
}

/** Rejects after `ms`: a browser may leave a refused registration pending for good. */
const within = (ms, promise, what) => Promise.race([
  promise,
  new Promise((_, reject) => { setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); }),
]);

async function ensureServiceWorker() {
  if (!('serviceWorker' in navigator)) return false;
  try {
    await within(10_000, (async () => {
      await navigator.serviceWorker.register('/widget/sw.js', { type: 'module', scope: '/widget/' });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
    })(), 'the service worker');
    return true;
  } catch (e) {
    console.warn('Fount: playing without a service worker:', e);
    return false;
  }
}

async function trackUrl(i) {
  if (streaming) return `/widget/stream/${encodeURIComponent(titleId)}/${i}`;
  if (!blobUrls[i]) {
    const track = tracks[i];
    const parts = [];
    for (let at = 0; at < track.length;) {
      const chunk = await title.read(i, at, 1 << 20);
      parts.push(chunk);
      at += chunk.length;
    }
    blobUrls[i] = URL.createObjectURL(new Blob(parts, { type: track.mediaType }));
  }
  return blobUrls[i];
}

/** The element's metadata for its new source, or its error. */
const metadata = () => new Promise((resolve, reject) => {
  const done = () => { audio.removeEventListener('loadedmetadata', done); audio.removeEventListener('error', failed); resolve(); };
  const failed = () => { audio.removeEventListener('loadedmetadata', done); audio.removeEventListener('error', failed); reject(new FountError('The audio could not be loaded.', 'playback')); };
  audio.addEventListener('loadedmetadata', done);
  audio.addEventListener('error', failed);
});

/** Moves to `seconds` on the title's timeline, switching track if needed. */
async function seekTo(seconds) {
  if (!title) return;
  const at = title.locate(Math.max(0, Math.min(seconds, title.duration)));
  if (at.track !== current) {
    const wasPlaying = !audio.paused;
    current = at.track;
    const loaded = metadata();
    audio.src = await trackUrl(current);
    audio.playbackRate = Number(speed.value);
    await loaded;
    if (wasPlaying) play();
  }
  audio.currentTime = at.offset;
  render();
}

function play() {
  // Nothing to play until the customer has the title.
  if (!title) return;
  audio.play().catch((e) => { if (e.name !== 'AbortError') fail(e); });
}

async function showPlayer() {
  title = await client.openTitle(titleId);
  tracks = title.tracks();
  chapters = title.chapters();
  streaming = await ensureServiceWorker();
  $('.total').textContent = clock(title.duration);
  seekBar.max = String(title.duration);
  $('.marks').replaceChildren(...chapters.filter((c) => c.start > 0).map((c) => {
    const mark = document.createElement('span');
    mark.style.left = `${(c.start / title.duration) * 100}%`;
    return mark;
  }));
  tocList.replaceChildren(...chapters.map((c, i) => {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.index = String(i);
    button.innerHTML = '<span class="t"></span><span class="at"></span>';
    button.querySelector('.t').textContent = c.title;
    button.querySelector('.at').textContent = clock(c.start);
    button.setAttribute('aria-label', `${c.title}, at ${clock(c.start)}`);
    button.addEventListener('click', async () => { await seekTo(c.start); play(); });
    item.append(button);
    return item;
  }));
  const saved = Number(localStorage.getItem('fount-speed'));
  if ([0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3].includes(saved)) speed.value = String(saved);
  const resume = await serverPosition() ?? await title.position() ?? 0;
  await seekTo(resume >= title.duration - 1 ? 0 : resume);
  mediaSession();
  show('player');
  toParent('fount:ready', { title: titleId, state: 'player', duration: title.duration });
}

// Positions: kept on the server per customer, so listening resumes on another device; and in
// the SDK's storage, for offline.
async function serverPosition() {
  try {
    const r = await withToken((t) => fetch(`/v1/me/positions/${encodeURIComponent(titleId)}`, { headers: { authorization: `Bearer ${t}` } })
      .then((res) => { if (res.status === 401) throw new UnauthorizedError('expired', 'unauthorized'); return res; }));
    return r.ok ? (await r.json()).seconds ?? null : null;
  } catch {
    return null;
  }
}

let lastSaved = -1;
async function savePosition(force = false) {
  const seconds = Math.round(timeline() * 10) / 10;
  if (!title || (!force && Math.abs(seconds - lastSaved) < 5)) return;
  lastSaved = seconds;
  title.savePosition(seconds).catch(() => {});
  try {
    await withToken((t) => fetch(`/v1/me/positions/${encodeURIComponent(titleId)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seconds }),
      keepalive: true,
    }).then((res) => { if (res.status === 401) throw new UnauthorizedError('expired', 'unauthorized'); }));
  } catch { /* offline: the local position stands */ }
}

let chapterIndex = -1;
let lastStatus = 0;
function render() {
  const t = timeline();
  if (document.activeElement !== seekBar) seekBar.value = String(t);
  $('.elapsed').textContent = clock(t);
  let index = -1;
  chapters.forEach((c, i) => { if (c.start <= t + 0.05) index = i; });
  if (index !== chapterIndex) {
    chapterIndex = index;
    $('.chapter').textContent = chapters[index]?.title ?? '';
    tocList.querySelectorAll('button').forEach((b) => b.setAttribute('aria-current', String(Number(b.dataset.index) === index)));
    if ('mediaSession' in navigator && navigator.mediaSession.metadata) navigator.mediaSession.metadata.album = chapters[index]?.title ?? '';
  }
  seekBar.setAttribute('aria-valuetext', `${clock(t)} of ${clock(title?.duration ?? 0)}${chapters[index] ? `, ${chapters[index].title}` : ''}`);
  if (Date.now() - lastStatus > 1000) {
    lastStatus = Date.now();
    toParent('fount:status', { playing: !audio.paused, position: t, duration: title?.duration ?? 0, chapter: chapters[index]?.title ?? null, rate: audio.playbackRate });
  }
}

function mediaSession() {
  if (!('mediaSession' in navigator)) return;
  const { name, author, cover } = config.title;
  navigator.mediaSession.metadata = new MediaMetadata({
    title: name, artist: author ?? '', album: '', artwork: cover ? [{ src: cover, sizes: '512x512' }] : [],
  });
  const actions = {
    play, pause: () => audio.pause(),
    seekbackward: (d) => seekTo(timeline() - (d.seekOffset || 15)),
    seekforward: (d) => seekTo(timeline() + (d.seekOffset || 30)),
    seekto: (d) => seekTo(d.seekTime),
    previoustrack: () => chapterStep(-1),
    nexttrack: () => chapterStep(1),
  };
  for (const [action, handler] of Object.entries(actions)) {
    try { navigator.mediaSession.setActionHandler(action, handler); } catch { /* not supported here */ }
  }
}

// Controls.
playButton.addEventListener('click', () => (audio.paused ? play() : audio.pause()));
$('.back').addEventListener('click', () => seekTo(timeline() - 15));
$('.forward').addEventListener('click', () => seekTo(timeline() + 30));
seekBar.addEventListener('input', () => { $('.elapsed').textContent = clock(Number(seekBar.value)); });
seekBar.addEventListener('change', () => seekTo(Number(seekBar.value)));
speed.addEventListener('change', () => {
  audio.playbackRate = Number(speed.value);
  localStorage.setItem('fount-speed', speed.value);
});
$('.toc-toggle').addEventListener('click', (e) => {
  tocList.hidden = !tocList.hidden;
  e.currentTarget.setAttribute('aria-expanded', String(!tocList.hidden));
});
audio.preservesPitch = true;

audio.addEventListener('play', () => {
  main.classList.add('playing');
  playButton.setAttribute('aria-label', 'Pause');
  toParent('fount:play', { position: timeline() });
});
audio.addEventListener('pause', () => {
  main.classList.remove('playing');
  playButton.setAttribute('aria-label', 'Play');
  savePosition(true);
  toParent('fount:pause', { position: timeline() });
});
audio.addEventListener('timeupdate', () => { render(); savePosition(); });
audio.addEventListener('ended', async () => {
  if (current < tracks.length - 1) {
    await seekTo(tracks[current + 1].start);
    play();
    return;
  }
  lastSaved = -1;
  title.savePosition(0).catch(() => {});
  toParent('fount:ended', { title: titleId });
});
audio.addEventListener('error', () => {
  if (audio.src) fail(new FountError('The audio could not be played.', 'playback'));
});
document.addEventListener('visibilitychange', () => { if (document.hidden) savePosition(true); });

document.addEventListener('keydown', (e) => {
  if (!title || e.altKey || e.ctrlKey || e.metaKey) return;
  const onControl = e.target.closest?.('button, select, input');
  const rates = [...speed.options].map((o) => Number(o.value));
  const i = rates.indexOf(Number(speed.value));
  const actions = {
    ' ': onControl ? null : () => (audio.paused ? play() : audio.pause()),
    k: () => (audio.paused ? play() : audio.pause()),
    j: () => seekTo(timeline() - 15),
    l: () => seekTo(timeline() + 30),
    ArrowLeft: e.target === seekBar ? null : () => seekTo(timeline() - 15),
    ArrowRight: e.target === seekBar ? null : () => seekTo(timeline() + 30),
    '[': () => { speed.value = String(rates[Math.max(0, i - 1)]); speed.dispatchEvent(new Event('change')); },
    ']': () => { speed.value = String(rates[Math.min(rates.length - 1, i + 1)]); speed.dispatchEvent(new Event('change')); },
    p: () => chapterStep(-1),
    n: () => chapterStep(1),
    Home: e.target === seekBar ? null : () => seekTo(0),
  };
  const action = actions[e.key];
  if (action) {
    e.preventDefault();
    action();
  }
});
/** To the next chapter; back to the start of this one, or the one before if just started. */
function chapterStep(direction) {
  if (direction > 0) {
    const next = chapters[chapterIndex + 1];
    if (next) seekTo(next.start);
    return;
  }
  const here = chapters[chapterIndex];
  const back = here && timeline() - here.start < 3 ? chapters[chapterIndex - 1] : here;
  seekTo(back?.start ?? 0);
}

/** Whether this page may keep data: a browser set to block third-party storage refuses it
 * to a framed player, and the device key and licenses need it. */
async function storageWorks() {
  try {
    localStorage.setItem('fount-probe', '1');
    localStorage.removeItem('fount-probe');
    await new Promise((resolve, reject) => {
      const request = indexedDB.open('fount-probe');
      request.onsuccess = () => { request.result.close(); resolve(); };
      request.onerror = () => reject(request.error);
    });
    return true;
  } catch {
    return false;
  }
}

/** Where the browser refuses storage to this frame: the player moves to its own tab (a
 * first-party page of this origin), and this frame relays between it and the host page. */
function showElsewhere() {
  const button = $('.elsewhere-button');
  button.addEventListener('click', () => {
    const query = new URLSearchParams({ title: titleId, theme: document.documentElement.dataset.theme });
    if (config.accent) query.set('accent', config.accent);
    playerTab = window.open(`/widget/player?${query}`, `fount-${titleId}`);
    if (!playerTab) message('Allow pop-ups for this site to listen.');
  });
  show('elsewhere');
  toParent('fount:ready', { title: titleId, state: 'elsewhere' });
}

async function boot() {
  if (!(await storageWorks())) {
    if (framed) return showElsewhere();
    return fail(new FountError('This browser does not let the player keep its keys. Allow site data for this site to listen.', 'storage'));
  }
  // Ask the host for a token first: the loader answers at once when it has one.
  try {
    await freshToken(true);
  } catch {
    // No token: the player sells, signed out.
  }
  return start();
}
boot();
