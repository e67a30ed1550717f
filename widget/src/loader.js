/* Fount widget loader: <script src="https://FOUNT/widget.js" async></script>, then
 * <div data-fount-title="TITLE"></div> or <fount-player title="TITLE"></fount-player>.
 * It turns each into an iframe from the Fount server (where the device key, decryption and
 * styles stay), sizes it to its content, passes the customer token in, and re-emits the
 * player's events on the element. No dependencies. */
(() => {
  const script = document.currentScript || document.querySelector('script[src*="/widget.js"]');
  if (!script || window.__fountWidget) return;
  const origin = new URL(script.src).origin;
  const widgets = new Map(); // iframe window -> state
  const EVENTS = ['ready', 'purchased', 'play', 'pause', 'ended', 'error'];

  const attr = (el, name) => el.getAttribute(`data-fount-${name}`) ?? el.getAttribute(name);

  async function token(el) {
    const given = attr(el, 'token');
    if (given) return given;
    const url = attr(el, 'token-url');
    if (!url) return null;
    // The store's own backend, same origin as this page, with its session cookie.
    const r = await fetch(url, { credentials: 'include', headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(`token URL answered ${r.status}`);
    const body = await r.json();
    return body.token ?? null;
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
    const state = { el, frame, ready: false, queue: [] };
    const send = (message) => frame.contentWindow?.postMessage(message, origin);
    const command = (type, value) => (state.ready ? send({ type, value }) : state.queue.push({ type, value }));
    el.__fount = state;
    // The element's API: el.fount.play(), .pause(), .seek(seconds).
    el.fount = {
      play: () => command('fount:play'),
      pause: () => command('fount:pause'),
      seek: (seconds) => command('fount:seek', Number(seconds)),
      state: () => ({ ...(state.status || {}) }),
    };
    state.send = send;
    // The frame's window object stays the same across its navigations.
    widgets.set(frame.contentWindow, state);
  }

  window.addEventListener('message', async (event) => {
    const state = widgets.get(event.source);
    // Only our iframes' windows, and only from the Fount server's exact origin.
    if (!state || event.origin !== origin || event.source !== state.frame.contentWindow) return;
    const { type, ...detail } = event.data || {};
    if (typeof type !== 'string' || !type.startsWith('fount:')) return;
    const name = type.slice('fount:'.length);
    if (name === 'hello' || name === 'need-token') {
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
      state.el.dispatchEvent(new CustomEvent(type, { detail, bubbles: true }));
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
    });
  }
  scan(document.documentElement);
  // Elements added later (single-page apps).
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(scan)))
    .observe(document.documentElement, { childList: true, subtree: true });
  window.__fountWidget = { origin };
})();
