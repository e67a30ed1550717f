// The SDK's service worker for playback (see playback.js): it answers the <audio> element's
// requests for <scope>.fount-stream/<title>/<track>?server=<url> with decrypted bytes of a
// title this browser holds a license for. Serve a module that imports this file from a path
// whose scope covers your player page (a service worker controls only the pages under it):
//
//   // /fount-worker.js
//   import '/node_modules/@fount/sdk/src/stream-worker.js';
import { FountClient } from './index.js';
import { refusal, trackResponse } from './stream.js';

const MARK = '/.fount-stream/';
const clients = new Map();
const open = new Map();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const at = url.pathname.indexOf(MARK);
  if (url.origin !== self.location.origin || at < 0) return;
  event.respondWith(respond(event.request, url, at).catch((e) => new Response(String(e.message || e), { status: 500 })));
});

async function titleFor(server, id) {
  const key = `${server} ${id}`;
  const hit = open.get(key);
  // Re-opened every minute, so that a license that ends (revoked, returned, expired) stops.
  if (hit && Date.now() - hit.at < 60_000) return hit.title;
  if (!clients.has(server)) clients.set(server, FountClient.create(server));
  const title = await (await clients.get(server)).openTitle(id);
  open.set(key, { title, at: Date.now() });
  return title;
}

async function respond(request, url, at) {
  // Only media requests of pages: never a page of its own.
  if (request.mode === 'navigate') return new Response('', { status: 403 });
  const [id, index] = url.pathname.slice(at + MARK.length).split('/').map(decodeURIComponent);
  const server = url.searchParams.get('server');
  if (!server || !id || !/^\d+$/.test(index ?? '')) return new Response('', { status: 404 });
  let title;
  try {
    title = await titleFor(server, id);
  } catch (e) {
    return refusal(e);
  }
  return trackResponse(title, Number(index), request);
}
