// A decrypted track as an HTTP answer to an <audio> element's request, ranged or whole: what
// a service worker gives the browser's own demuxer, so that any container it can play (MP3,
// M4A, FLAC, Ogg) plays, seeks and knows its duration, for any length, with no buffer of the
// page's to fill. Shared by the package's stream worker and the widget's.

const CHUNK = 1 << 20;

/** The answer to `request` for track `index` of an open title. */
export async function trackResponse(title, index, request) {
  const track = title.tracks()[index];
  if (!track) return new Response('', { status: 404 });
  const headers = { 'content-type': track.mediaType, 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(request.headers.get('range') || '');
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
  const start = range[1] === '' ? Math.max(0, track.length - Number(range[2])) : Number(range[1]);
  let end = range[1] === '' || range[2] === '' ? track.length - 1 : Math.min(Number(range[2]), track.length - 1);
  if (start >= track.length || end < start) {
    return new Response('', { status: 416, headers: { 'content-range': `bytes */${track.length}` } });
  }
  // A partial answer is fine: the element asks again for the rest. It flows chunk by chunk.
  end = Math.min(end, start + CHUNK - 1);
  const body = await title.stream(track.index, start, end - start + 1);
  return new Response(body, {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${start}-${end}/${track.length}`, 'content-length': String(end - start + 1) },
  });
}

/** A refusal the page can read: the error's code and message, 403. */
export function refusal(e) {
  return new Response(JSON.stringify({ code: e.code, message: e.message }), { status: 403, headers: { 'content-type': 'application/json' } });
}
