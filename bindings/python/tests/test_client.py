"""The Python binding against a live `fount-server demo` (scripts/test-python.sh starts one).

FOUNT_DEMO_JSON names the demo's facts; FOUNT_SAMPLE the audio the demo title was made from.
"""

import json
import os
import pathlib
import shutil
import time
import urllib.request

import pytest

from fount import (
    Access,
    FileStorage,
    FountClient,
    FountError,
    HostError,
    HttpTransport,
    LicenseStatus,
    SystemClock,
    UrllibTransport,
)

DEMO = json.loads(pathlib.Path(os.environ["FOUNT_DEMO_JSON"]).read_text())
SAMPLE = pathlib.Path(os.environ["FOUNT_SAMPLE"]).read_bytes()
TITLE = DEMO["title_id"]


def store(method, path, body=None):
    """Calls the store API as the store's backend would."""
    req = urllib.request.Request(DEMO["base_url"] + path, method=method, data=json.dumps(body or {}).encode())
    req.add_header("Authorization", "Bearer " + DEMO["api_key"])
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def customer(name):
    """A new customer of the demo store: its id and a token."""
    cid = f"python-{name}-{time.time_ns()}"
    return cid, store("POST", f"/v1/customers/{cid}/tokens")["token"]


def grant(cid):
    store("POST", "/v1/entitlements", {"customer": cid, "title": TITLE, "kind": "purchase"})


def client(folder, http=None):
    return FountClient(DEMO["base_url"], http or UrllibTransport(), FileStorage(folder), SystemClock(), None)


class Offline(HttpTransport):
    def send(self, request):
        raise HostError.Failed("offline")


def read_all(title):
    data, length = b"", title.tracks()[0].length
    while len(data) < length:
        data += title.read(0, len(data), 100_000)
    return data


def test_whole_path_to_identical_bytes(tmp_path):
    cid, token = customer("path")
    c = client(tmp_path)
    device = c.register_device(token, "pytest")
    assert device.id == c.device_id() and device.active
    with pytest.raises(FountError.NotEntitled):
        c.acquire_license(token, TITLE)
    grant(cid)
    license = c.acquire_license(token, TITLE)
    assert license.status == LicenseStatus.ACTIVE
    assert c.licenses() == [license]

    title = c.open_title(TITLE)
    assert title.name() == "The Fount Sampler"
    assert [ch.title for ch in title.chapters()] == ["The Spring", "The Keeper", "The Library"]
    assert title.read(0, 5000, 60000) == SAMPLE[5000:65000]
    assert read_all(title) == SAMPLE

    title.download()
    offline = client(tmp_path, Offline()).open_title(TITLE)
    assert offline.is_downloaded()
    assert read_all(offline) == SAMPLE
    offline.save_position(12.0)
    assert abs(offline.position() - 12.0) < 0.01
    mark = offline.add_bookmark(26.0, "the library")
    assert mark.chapter == "The Library"
    assert [b.id for b in offline.bookmarks()] == [mark.id]
    with pytest.raises(FountError.Network):
        client(tmp_path, Offline()).check_status(license.id)


def test_errors_are_typed(tmp_path):
    cid, token = customer("errors")
    grant(cid)
    c = client(tmp_path / "a")
    with pytest.raises(FountError.Unauthorized):
        c.register_device("not-a-token", "x")
    with pytest.raises(FountError.DeviceNotRegistered):
        c.acquire_license(token, TITLE)
    c.register_device(token, "pytest")
    with pytest.raises(FountError.NotLicensed):
        c.open_title(TITLE)
    license = c.acquire_license(token, TITLE)

    # Another device's storage holding this device's license: wrong device.
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "fount" / "device-key").unlink()
    with pytest.raises(FountError.WrongDevice):
        client(tmp_path / "b").open_title(TITLE)

    store("POST", f"/v1/licenses/{license.id}/revoke")
    assert c.check_status(license.id).status == LicenseStatus.REVOKED
    with pytest.raises(FountError.Revoked):
        c.open_title(TITLE)
    with pytest.raises(FountError.InvalidInput):
        c.acquire_license(token, "../x")


def test_return(tmp_path):
    cid, token = customer("return")
    grant(cid)
    c = client(tmp_path)
    c.register_device(token, "pytest")
    license = c.acquire_license(token, TITLE)
    assert c.return_license(token, license.id).status == LicenseStatus.RETURNED
    with pytest.raises(FountError.Returned):
        c.open_title(TITLE)


def test_account_devices_and_library(tmp_path):
    cid, token = customer("account")
    grant(cid)
    phone, laptop = client(tmp_path / "phone"), client(tmp_path / "laptop")
    phone.register_device(token, "phone")
    laptop.register_device(token, "laptop")
    listed = phone.devices(token)
    assert sorted(d.name for d in listed.devices) == ["laptop", "phone"]
    assert [d.id for d in listed.devices if d.this_device] == [phone.device_id()]
    assert listed.next_removal_at is None
    assert phone.rename_device(token, laptop.device_id(), "old laptop").name == "old laptop"
    store("PATCH", "/v1/store", {"device_removal_wait_seconds": 86400})
    try:
        assert not phone.remove_device(token, laptop.device_id()).active
        with pytest.raises(FountError.DeviceRemovalTooSoon, match="24 hours"):
            phone.remove_device(token, phone.device_id())
    finally:
        store("PATCH", "/v1/store", {"device_removal_wait_seconds": 0})
    [item] = phone.library(token)
    assert (item.title_id, item.access, item.name) == (TITLE, Access.OWNED, "The Fount Sampler")


def test_position_and_bookmarks_follow_the_listener(tmp_path):
    cid, token = customer("sync")
    grant(cid)
    phone, tablet = client(tmp_path / "phone"), client(tmp_path / "tablet")
    for c in (phone, tablet):
        c.register_device(token, "a device")
        c.acquire_license(token, TITLE)
    p, t = phone.open_title(TITLE), tablet.open_title(TITLE)
    p.save_position(21.0)
    mark = p.add_bookmark(14.0, "the keeper")
    sent = p.sync_listening(token)
    assert (sent.sent, sent.received) == (2, 0)
    got = t.sync_listening(token)
    assert got.received == 2 and abs(got.position - 21.0) < 0.01
    assert [(b.id, b.note) for b in t.bookmarks()] == [(mark.id, "the keeper")]
    # A second later (the clock counts seconds) the tablet removes it; the phone learns.
    time.sleep(1.1)
    assert t.remove_bookmark(mark.id)
    t.save_position(30.0)
    assert t.sync_listening(token).sent == 2
    back = p.sync_listening(token)
    assert back.received == 2 and abs(p.position() - 30.0) < 0.01
    assert p.bookmarks() == []
