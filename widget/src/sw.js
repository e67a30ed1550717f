// The player's service worker: it answers the <audio> element's range requests for
// /widget/stream/<title>/<track> with decrypted bytes, so the browser's own demuxer handles
// any container it can play (MP3, M4A, FLAC, Ogg), seeking and duration, while decryption
// stays on the Fount server's origin. It serves only the player page's media requests: a
// navigation, or any other page, gets nothing, and the server itself never serves these URLs.
import { FountClient } from '/widget/sdk/src/index.js';
import { refusal, trackResponse } from '/widget/sdk/src/stream.js';

const open = new Map();
let client = null;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/widget/stream/')) return;
  event.respondWith(respond(event, url).catch((e) => new Response(String(e.message || e), { status: 500 })));
});

async function titleFor(id) {
  const hit = open.get(id);
  // Re-opened every minute, so a revocation the page learns of reaches the stream too.
  if (hit && Date.now() - hit.at < 60_000) return hit.title;
  client ??= await FountClient.create(self.location.origin);
  const title = await client.openTitle(id);
  open.set(id, { title, at: Date.now() });
  return title;
}

// The clients found to be player pages. A client is one document, whose path never changes
// (the player does not rewrite its URL), so one look per page is enough: each look is a
// round trip to the browser, measured at 0.4 to 11 ms on the way from a click to the sound.
const players = new Set();

async function isPlayer(clientId) {
  if (!clientId) return false;
  if (players.has(clientId)) return true;
  const requester = await self.clients.get(clientId);
  if (!requester || new URL(requester.url).pathname !== '/widget/player') return false;
  // Pages come and go; a worker that lives long forgets them rather than grow.
  if (players.size >= 64) players.clear();
  players.add(clientId);
  return true;
}

async function respond(event, url) {
  if (event.request.mode === 'navigate') return new Response('', { status: 403 });
  if (!(await isPlayer(event.clientId))) return new Response('', { status: 403 });
  const [, , , id, index] = url.pathname.split('/');
  let title;
  try {
    title = await titleFor(decodeURIComponent(id));
  } catch (e) {
    return refusal(e);
  }
  return trackResponse(title, Number(index), event.request);
}
