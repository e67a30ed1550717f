"""Fount's SDK for Python.

A client of a Fount license server: register this device, acquire licenses, open titles and
read their decrypted audio, offline within the license's rights. The host services (HTTP,
storage, clock) default to the standard library::

    from fount import FountClient, UrllibTransport, FileStorage, SystemClock

    client = FountClient("https://fount.example", UrllibTransport(), FileStorage("~/.fount"), SystemClock(), None)
    client.register_device(token, "my laptop")
    client.acquire_license(token, title_id)
    title = client.open_title(title_id)
    audio = title.read(0, 0, title.tracks()[0].length)

Downloads for offline listening run in the background of the call that runs them, several
range requests at once, resumed where they stopped after a crash; a plain function hears of
their progress::

    client.enqueue_download(title_id)
    client.run_downloads(ProgressCallback(lambda p: print(p.state, p.bytes, p.total)))

Errors are subclasses of ``FountError`` (``FountError.NotEntitled``, ``FountError.Revoked``, ...).
The calls block; call them from a worker thread in an asynchronous program.
"""

from .fount import *  # noqa: F401,F403  (the generated client: FountClient, FountTitle, the host interfaces)
from .fount_sdk import *  # noqa: F401,F403  (the generated records, enums and errors)
from .defaults import FileStorage, ProgressCallback, SystemClock, UrllibTransport  # noqa: F401
