"""A webhook receiver for Fount's tests: verifies every delivery with the Standard Webhooks
reference library (PyPI `standardwebhooks`), records it, and answers as told.

    python3 receiver.py --secret whsec_... [--secret whsec_old...]

It prints its port on the first line of stdout, then serves on 127.0.0.1:

* POST /hook        a delivery: verified against each secret given (any may match); answered
                    with the next scripted answer, or 204. A delivery that fails verification
                    is answered 400 and counted.
* POST /control     JSON {"script": [[status, {"retry-after": "2"}], ...]} queues answers for
                    the next deliveries; {"secrets": ["whsec_..."]} replaces the secrets.
* GET  /received    JSON {"deliveries": [{"id", "type", "timestamp", "at", "status",
                    "signatures"}...], "rejected": n}
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

lock = threading.Lock()
state = {"secrets": [], "script": [], "deliveries": [], "rejected": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length)

    def _answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/received":
            return self._answer(404)
        with lock:
            body = json.dumps({"deliveries": state["deliveries"], "rejected": state["rejected"]}).encode()
        self._answer(200, body, {"content-type": "application/json"})

    def do_POST(self):
        body = self._body()
        if self.path == "/control":
            msg = json.loads(body)
            with lock:
                if "script" in msg:
                    state["script"].extend(msg["script"])
                if "secrets" in msg:
                    state["secrets"] = msg["secrets"]
            return self._answer(204)
        if self.path != "/hook":
            return self._answer(404)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            secrets = list(state["secrets"])
        event = None
        for secret in secrets:
            try:
                event = Webhook(secret).verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        if event is None:
            with lock:
                state["rejected"] += 1
            return self._answer(400)
        with lock:
            status, extra = state["script"].pop(0) if state["script"] else (204, {})
            state["deliveries"].append(
                {
                    "id": headers.get("webhook-id"),
                    "type": event.get("type"),
                    "timestamp": headers.get("webhook-timestamp"),
                    "signatures": len(headers.get("webhook-signature", "").split(" ")),
                    "at": time.time(),
                    "status": status,
                }
            )
        self._answer(status, b"", extra)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", action="append", default=[])
    args = parser.parse_args()
    state["secrets"] = args.secret
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
