#!/usr/bin/env python3
"""A proxy in front of a test server for the SDK's download tests in Kotlin, Python and
JavaScript: it counts the range requests for sealed files (by the range's first byte, and by
the app's `x-test-app` header), and alters what it forwards when told to.

    test-proxy.py UPSTREAM_URL PORT_FILE

Listens on a free loopback port, writes the port to PORT_FILE. Control, on the proxy itself:

    GET  /_proxy/counts   {"ranges": {"<start>": n}, "apps": {"<tag>": n}}  (block requests per app)
    POST /_proxy/faults   {"corruptOnce": <start>, "unavailable": n, "delayMs": n}
    POST /_proxy/reset    forget the counts and faults

Everything else goes to UPSTREAM_URL as it came, one upstream connection per request.
"""

import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

upstream = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
state = {"ranges": {}, "apps": {}, "corrupt_once": None, "unavailable": 0, "delay": 0.0}

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        try:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The app went away mid-answer (the tests kill it): nothing to tell it.
            self.close_connection = True

    def control(self, body):
        with lock:
            if self.path == "/_proxy/counts":
                doc = {"ranges": {str(k): v for k, v in state["ranges"].items()}, "apps": dict(state["apps"])}
                return self.reply(200, json.dumps(doc).encode(), [("content-type", "application/json")])
            if self.path == "/_proxy/reset":
                state.update(ranges={}, apps={}, corrupt_once=None, unavailable=0, delay=0.0)
                return self.reply(204)
            if self.path == "/_proxy/faults":
                asked = json.loads(body or b"{}")
                if "corruptOnce" in asked:
                    state["corrupt_once"] = asked["corruptOnce"]
                if "unavailable" in asked:
                    state["unavailable"] = int(asked["unavailable"])
                if "delayMs" in asked:
                    state["delay"] = float(asked["delayMs"]) / 1000
                return self.reply(204)
        self.reply(404)

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_proxy/"):
            return self.control(body)
        start = None
        spec = self.headers.get("range", "")
        if self.path.startswith("/pub/") and spec.startswith("bytes="):
            try:
                start = int(spec[len("bytes="):].split("-")[0])
            except ValueError:
                start = None
        corrupt = unavailable = False
        delay = 0.0
        if start is not None:
            with lock:
                state["ranges"][start] = state["ranges"].get(start, 0) + 1
                if start > 0:
                    app = self.headers.get("x-test-app", "")
                    state["apps"][app] = state["apps"].get(app, 0) + 1
                corrupt = state["corrupt_once"] == start
                if corrupt:
                    state["corrupt_once"] = None
                unavailable = state["unavailable"] > 0
                state["unavailable"] = max(0, state["unavailable"] - 1)
                delay = state["delay"]
        if delay:
            time.sleep(delay)
        if unavailable:
            return self.reply(503)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = bytearray(resp.read())
            if corrupt and len(data) > 100:
                data[100] ^= 0x40
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
            self.reply(resp.status, bytes(data), out)
        except OSError:
            self.reply(502)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
