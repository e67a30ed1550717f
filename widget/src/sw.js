// The player's service worker: it answers the <audio> element's range requests for
// /widget/stream/<title>/<track> with decrypted bytes, so the browser's own demuxer handles
// any container it can play (MP3, M4A, FLAC, Ogg), seeking and duration, while decryption
// stays on the Fount server's origin. It serves only the player page's media requests: a
// navigation, or any other page, gets nothing, and the server itself never serves these URLs.
import { FountClient } from '/widget/sdk/src/index.js';

const CHUNK = 1 << 20;
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

async function respond(event, url) {
  if (event.request.mode === 'navigate') return new Response('', { status: 403 });
  const requester = event.clientId ? await self.clients.get(event.clientId) : null;
  if (!requester || new URL(requester.url).pathname !== '/widget/player') return new Response('', { status: 403 });
  const [, , , id, index] = url.pathname.split('/');
  let title;
  try {
    title = await titleFor(decodeURIComponent(id));
  } catch (e) {
    return new Response(JSON.stringify({ code: e.code, message: e.message }), { status: 403, headers: { 'content-type': 'application/json' } });
  }
  const track = title.tracks()[Number(index)];
  if (!track) return new Response('', { status: 404 });
  const headers = { 'content-type': track.mediaType, 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(event.request.headers.get('range') || '');
  if (!range) {
    // The whole track, decrypted a chunk at a time as the element reads.
    let at = 0;
    const body = new ReadableStream({
      async pull(controller) {
        if (at >= track.length) return controller.close();
        const chunk = await title.read(track.index, at, CHUNK);
        at += chunk.length;
        controller.enqueue(chunk);
      },
    });
    return new Response(body, { status: 200, headers: { ...headers, 'content-length': String(track.length) } });
  }
  let start = range[1] === '' ? Math.max(0, track.length - Number(range[2])) : Number(range[1]);
  let end = range[1] === '' || range[2] === '' ? track.length - 1 : Math.min(Number(range[2]), track.length - 1);
  if (start >= track.length || end < start) {
    return new Response('', { status: 416, headers: { 'content-range': `bytes */${track.length}` } });
  }
  // A partial answer is fine: the element asks again for the rest.
  end = Math.min(end, start + CHUNK - 1);
  const bytes = await title.read(track.index, start, end - start + 1);
  return new Response(bytes, {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${start}-${start + bytes.length - 1}/${track.length}`, 'content-length': String(bytes.length) },
  });
}
