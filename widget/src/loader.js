/* Fount widget loader: <script src="https://FOUNT/widget.js" async></script>, then
 * <div data-fount-title="TITLE"></div> or <fount-player title="TITLE"></fount-player>.
 * It turns each into an iframe from the Fount server (where the device key, decryption and
 * styles stay), sizes it to its content, passes the customer token in, and re-emits the
 * player's events on the element. When the player cannot show here (this site is not one the
 * store allows, or the title does not exist), it says so in place of the player and emits
 * fount:error with a stable code. No dependencies. */
(() => {
  const script = document.currentScript || document.querySelector('script[src*="/widget.js"]');
  if (!script || window.__fountWidget) return;
  const origin = new URL(script.src).origin;
  const widgets = new Map(); // iframe window -> state
  const EVENTS = ['ready', 'purchased', 'play', 'pause', 'ended', 'error', 'signin-required', 'device-removed'];
  // How long a player may take to say hello before the page is told it is unavailable.
  const HELLO_TIMEOUT = 20000;

  const attr = (el, name) => el.getAttribute(`data-fount-${name}`) ?? el.getAttribute(name);
  const emit = (el, name, detail) => el.dispatchEvent(new CustomEvent(`fount:${name}`, { detail, bubbles: true }));

  async function token(el) {
    const given = attr(el, 'token');
    if (given) return given;
    const url = attr(el, 'token-url');
    if (!url) return null;
    // The store's own backend, same origin as this page, with its session cookie.
    const r = await fetch(url, { credentials: 'include', headers: { accept: 'application/json' } });
    if (r.status === 401 || r.status === 403) return null;
    if (!r.ok) throw new Error(`token URL answered ${r.status}`);
    const body = await r.json();
    return body.token ?? null;
  }

  const MESSAGES = {
    'origin-not-allowed': (o) => `This player cannot be shown on ${o}: the store has not allowed this site.`,
    'title-not-found': () => 'This title is not available.',
    'player-unavailable': () => 'The player could not be loaded. Check your connection and reload the page.',
  };

  /** Shows why there is no player, in place of it, and tells the page. */
  function unavailable(state, code) {
    if (state.failed || state.ready) return;
    state.failed = true;
    const box = document.createElement('div');
    box.setAttribute('role', 'status');
    // A shadow root keeps the page's styles off the message and the message's off the page.
    const shadow = box.attachShadow({ mode: 'closed' });
    const text = document.createElement('p');
    text.textContent = (MESSAGES[code] ?? MESSAGES['player-unavailable'])(location.origin);
    const style = document.createElement('style');
    style.textContent = 'p{margin:0;padding:14px 16px;border:1px solid #d9d9de;border-radius:12px;'
      + 'font:15px/1.4 system-ui,sans-serif;color:#3b3b42;background:#f7f7f9}';
    shadow.append(style, text);
    state.el.replaceChildren(box);
    emit(state.el, 'error', { code, message: text.textContent });
  }

  /** Asks the server whether this page may show the title, while the frame loads. */
  async function check(state, title) {
    try {
      const query = new URLSearchParams({ title, origin: location.origin });
      const r = await fetch(`${origin}/widget/embed?${query}`, { credentials: 'omit' });
      if (!r.ok) return;
      const answer = await r.json();
      if (!answer.playable) unavailable(state, answer.reason);
    } catch {
      // Unreachable: the hello timeout reports it.
    }
  }

  function boot(el) {
    const title = attr(el, 'title');
    if (el.__fount || !title) return;
    const frame = document.createElement('iframe');
    const query = new URLSearchParams({ title, theme: attr(el, 'theme') || 'auto' });
    const accent = attr(el, 'accent');
    if (accent) query.set('accent', accent);
    frame.src = `${origin}/widget/player?${query}`;
    frame.title = el.getAttribute('aria-label') || 'Audio player';
    frame.allow = 'autoplay';
    frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox');
    frame.style.cssText = 'border:0;width:100%;min-width:280px;height:180px;display:block;color-scheme:normal';
    el.replaceChildren(frame);
    const state = { el, frame, ready: false, failed: false, queue: [] };
    const send = (message) => frame.contentWindow?.postMessage(message, origin);
    const command = (type, value) => (state.ready ? send({ type, value }) : state.queue.push({ type, value }));
    el.__fount = state;
    // The element's API: el.fount.play(), .pause(), .seek(seconds), and .refresh() once the
    // visitor has signed in (the player then asks for the token again).
    el.fount = {
      play: () => command('fount:play'),
      pause: () => command('fount:pause'),
      seek: (seconds) => command('fount:seek', Number(seconds)),
      refresh: async () => send({ type: 'fount:token', token: await token(el).catch(() => null) }),
      state: () => ({ ...(state.status || {}) }),
    };
    state.send = send;
    // The frame's window object stays the same across its navigations.
    widgets.set(frame.contentWindow, state);
    check(state, title);
    setTimeout(() => { if (!state.hello) unavailable(state, 'player-unavailable'); }, HELLO_TIMEOUT);
  }

  window.addEventListener('message', async (event) => {
    const state = widgets.get(event.source);
    // Only our iframes' windows, and only from the Fount server's exact origin.
    if (!state || event.origin !== origin || event.source !== state.frame.contentWindow) return;
    const { type, ...detail } = event.data || {};
    if (typeof type !== 'string' || !type.startsWith('fount:')) return;
    const name = type.slice('fount:'.length);
    if (name === 'hello' || name === 'need-token') {
      state.hello = true;
      let t = null;
      try { t = await token(state.el); } catch (e) { console.warn('Fount widget: no customer token:', e); }
      state.send({ type: 'fount:token', token: t });
    } else if (name === 'resize') {
      state.frame.style.height = `${Math.max(120, Math.min(2000, Number(detail.height) || 0))}px`;
    } else if (name === 'status') {
      state.status = detail;
    } else if (EVENTS.includes(name)) {
      if (name === 'ready') {
        state.ready = true;
        state.queue.splice(0).forEach((m) => state.send(m));
      }
      emit(state.el, name, detail);
    }
  });

  const scan = (root) => {
    if (root.nodeType !== 1) return;
    if (root.matches('[data-fount-title]')) boot(root);
    root.querySelectorAll('[data-fount-title]').forEach(boot);
  };

  if (window.customElements && !customElements.get('fount-player')) {
    customElements.define('fount-player', class extends HTMLElement {
      connectedCallback() { boot(this); }
      play() { this.fount?.play(); }
      pause() { this.fount?.pause(); }
      seek(seconds) { this.fount?.seek(seconds); }
      refresh() { return this.fount?.refresh(); }
    });
  }
  scan(document.documentElement);
  // Elements added later (single-page apps), and tokens given later (after a sign-in).
  new MutationObserver((records) => records.forEach((r) => {
    r.addedNodes.forEach(scan);
    if (r.type === 'attributes' && r.target.__fount) r.target.fount.refresh();
  })).observe(document.documentElement, { childList: true, subtree: true, attributeFilter: ['data-fount-token'] });
  window.__fountWidget = { origin };
})();
