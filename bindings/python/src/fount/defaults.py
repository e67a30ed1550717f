"""Default host services from the standard library: urllib, files, the system clock."""

import os
import pathlib
import tempfile
import time
import urllib.error
import urllib.request

from .fount import Clock, DownloadListener, HostError, HttpTransport, Storage
from .fount_sdk import HttpHeader, HttpResponse


class UrllibTransport(HttpTransport):
    """HTTP with urllib.request. Every status is returned as a response, errors included."""

    def __init__(self, timeout: float = 60.0):
        self._timeout = timeout

    def send(self, request):
        req = urllib.request.Request(request.url, data=bytes(request.body) or None, method=request.method)
        for header in request.headers:
            req.add_header(header.name, header.value)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as response:
                return HttpResponse(status=response.status, headers=_headers(response.headers), body=response.read())
        except urllib.error.HTTPError as e:
            return HttpResponse(status=e.code, headers=_headers(e.headers), body=e.read())
        except (urllib.error.URLError, OSError) as e:
            raise HostError.Failed(f"{type(e).__name__}: {e}") from e


def _headers(headers):
    return [HttpHeader(name=k.lower(), value=v) for k, v in headers.items()]


class FileStorage(Storage):
    """One file per key under a folder; values are replaced atomically."""

    def __init__(self, root):
        self._root = pathlib.Path(root).expanduser()
        self._root.mkdir(parents=True, exist_ok=True)

    def _path(self, key):
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise HostError.Failed(f"bad key {key!r}")
        return self._root.joinpath(*parts)

    def load(self, key):
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise HostError.Failed(f"load {key}: {e}") from e

    def save(self, key, value):
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(bytes(value))
            os.replace(tmp, path)
        except OSError as e:
            raise HostError.Failed(f"save {key}: {e}") from e

    def remove(self, key):
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def keys(self, prefix):
        found = []
        for path in self._root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)


class SystemClock(Clock):
    """The system clock."""

    def now_seconds(self):
        return int(time.time())


class ProgressCallback(DownloadListener):
    """A download listener from a plain function: ``client.download_title(t, ProgressCallback(print))``.

    The function is called with each ``DownloadProgress``, in order, on the thread that runs
    the download; an exception it raises is printed and the download goes on.
    """

    def __init__(self, fn):
        self._fn = fn

    def on_progress(self, progress):
        try:
            self._fn(progress)
        except Exception:  # noqa: BLE001  (a listener's bug must not end the download)
            import traceback

            traceback.print_exc()
