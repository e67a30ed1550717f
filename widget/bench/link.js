// A slow network link for the benchmark: an HTTP forward proxy that Chromium sends every
// request through (`--proxy-server`), pages', frames' and service workers' alike, which this
// machine cannot otherwise slow (its kernel has no `netem`, and Playwright's CDP throttling
// does not reach a service worker's own fetches).
//
// The model is a link, not TCP: each request reaches the server `rtt / 2` after Chromium sent
// it, each answer's head reaches Chromium `rtt / 2` after the server sent it, and the answers'
// bodies share one downlink of `mbit` Mbit/s, in pieces of 4 KiB, first come first served.
// A body Chromium stops reading (an element that has its metadata, a request cancelled) stops
// taking the link's time: a piece is queued only once the one before it has been written and
// the socket has room. Uploads are not slowed (the benchmark's requests are small).
import { Agent, createServer, request as httpRequest } from 'node:http';

const PIECE = 4096;
// Headers that belong to one hop, not to the request or answer forwarded.
const HOP = ['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'te', 'trailer', 'upgrade'];
const forwarded = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.includes(k)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the proxy on a free loopback port: `{ server, url, close }`. `rtt` in ms, `mbit` the
 * downlink in Mbit/s.
 */
export async function startLink({ rtt, mbit }) {
  const bytesPerMs = (mbit * 1e6) / 8 / 1e3;
  const agent = new Agent({ keepAlive: true, timeout: 10_000 });
  let free = 0; // when the downlink has sent everything queued, in performance.now() ms

  // Waits for the downlink to carry `n` bytes after those queued before them.
  const carry = (n) => {
    const start = Math.max(performance.now(), free);
    free = start + n / bytesPerMs;
    return sleep(free - performance.now());
  };

  const server = createServer(async (req, res) => {
    let url;
    try {
      url = new URL(req.url);
    } catch {
      return res.writeHead(400).end('a forward proxy takes absolute URLs');
    }
    await sleep(rtt / 2);
    let answered = false;
    const up = httpRequest(url, { method: req.method, headers: forwarded(req.headers), agent, timeout: 10_000 }, async (answer) => {
      await sleep(rtt / 2);
      if (res.destroyed) return answer.destroy();
      res.writeHead(answer.statusCode, answer.statusMessage, forwarded(answer.headers));
      try {
        for await (const chunk of answer) {
          for (let at = 0; at < chunk.length; at += PIECE) {
            const piece = chunk.subarray(at, at + PIECE);
            await carry(piece.length);
            if (res.destroyed) return answer.destroy();
            if (!res.write(piece)) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
          }
        }
      } catch {
        // The server cut the answer short: so does the link.
        return res.destroy();
      }
      answered = true;
      res.end();
    });
    up.on('timeout', () => up.destroy(new Error(`${url}: no answer within 10 s`)));
    up.on('error', (e) => (res.headersSent || res.destroyed ? res.destroy() : res.writeHead(502).end(String(e))));
    // Chromium gave up on the answer: so does the proxy, upstream.
    res.on('close', () => answered || up.destroy());
    req.pipe(up);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const close = () => {
    agent.destroy();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { server, url, close };
}
