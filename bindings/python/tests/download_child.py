"""One run of an app downloading a title, in its own process so that the test can kill it:
prints each progress as a JSON line, then the final one.

    python download_child.py SERVER TOKEN TITLE FOLDER TAG
"""

import json
import sys

from fount import DownloadSettings, FileStorage, HttpHeader, FountClient, ProgressCallback, SystemClock, UrllibTransport

server, token, title, folder, tag = sys.argv[1:6]


class Tagged(UrllibTransport):
    """Tells the test proxy which run this is."""

    def send(self, request):
        request.headers.append(HttpHeader(name="x-test-app", value=tag))
        return super().send(request)


def show(p):
    print(json.dumps({"state": p.state.name.lower(), "bytes": p.bytes, "total": p.total}), flush=True)


client = FountClient(server, Tagged(timeout=30), FileStorage(folder), SystemClock(), None)
client.register_device(token, "python")
if all(lic.title_id != title for lic in client.licenses()):
    client.acquire_license(token, title)
client.set_download_settings(DownloadSettings(parallel=4, attempts=4, retry_delay_ms=50, quota_bytes=None))
client.enqueue_download(title)
final = [p for p in client.run_downloads(ProgressCallback(show)) if p.title_id == title][0]
print(json.dumps({"final": {"state": final.state.name.lower(), "bytes": final.bytes, "total": final.total}}), flush=True)
