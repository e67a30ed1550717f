"""An independent implementation of docs/formats.md, checked against docs/test-vectors.

Written from the specification alone, in Python, with `cryptography` for primitives and
`jwcrypto` (an off-the-shelf JOSE library) to show that a standard library verifies licenses
and opens content keys. Run: python3 tests/vectors/check_vectors.py
"""

import base64
import hashlib
import json
import math
import pathlib
import struct
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

VECTORS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "test-vectors"
TOLERANCE = 300


def b64d(text):
    if "=" in text or any(c.isspace() for c in text):
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64e(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def b64e(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load(name):
    return json.loads((VECTORS / name).read_text())


def thumbprint(jwk):
    required = {"EC": ["crv", "kty", "x", "y"], "RSA": ["e", "kty", "n"], "OKP": ["crv", "kty", "x"]}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(canonical.encode()).digest())


def check_device_ids():
    for case in load("device-id.json")["cases"]:
        assert thumbprint(case["jwk"]) == case["device_id"], case["description"]


# Sealed assets (section 4).

class SealError(Exception):
    pass


def parse_header(data):
    if len(data) < 68 or data[:7] != b"FOUNTSA" or data[7] != 1:
        raise SealError("header")
    chunk, length = struct.unpack(">IQ", data[8:20])
    if not (16 <= chunk <= 16 * 1024 * 1024) or length > 2**48:
        raise SealError("header")
    return {"raw": data[:68], "chunk": chunk, "length": length, "key_id": data[20:36], "salt": data[36:68]}


def file_key(content_key, salt):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"fount-sealed-asset-v1").derive(content_key)


def chunk_count(h):
    return max(1, math.ceil(h["length"] / h["chunk"]))


def open_chunk(h, key, index, sealed_chunk):
    last = 1 if index == chunk_count(h) - 1 else 0
    nonce = struct.pack(">QB", index, last) + b"\0\0\0"
    aad = h["raw"] + struct.pack(">QB", index, last)
    try:
        return AESGCM(key).decrypt(nonce, sealed_chunk, aad)
    except InvalidTag:
        raise SealError(f"ChunkAuthentication({index})")


def open_sealed(content_key, data):
    h = parse_header(data)
    n = chunk_count(h)
    if len(data) != 68 + h["length"] + 16 * n:
        raise SealError("SealedLength")
    key = file_key(content_key, h["salt"])
    out = b""
    for i in range(n):
        start = 68 + i * (h["chunk"] + 16)
        size = min(h["chunk"], h["length"] - i * h["chunk"]) + 16
        out += open_chunk(h, key, i, data[start:start + size])
    return out


def check_sealed():
    v = load("sealed-asset.json")
    content_key = bytes.fromhex(v["content_key_hex"])
    data = bytes.fromhex(v["sealed_hex"])
    h = parse_header(data)
    assert b64e(h["key_id"]) == v["key_id"]
    assert h["raw"].hex() == v["header_hex"]
    assert file_key(content_key, h["salt"]).hex() == v["file_key_hex"]
    assert open_sealed(content_key, data).hex() == v["plaintext_hex"]
    c = h["chunk"]
    for r in v["ranges"]:
        a, b = r["plaintext"]
        f, g = a // c, (b - 1) // c
        start = 68 + f * (c + 16)
        end = 68 + g * (c + 16) + min(c, h["length"] - g * c) + 16
        assert [f, start, end] == [r["first_chunk"], *r["sealed"]], r
    for t in v["tampered"]:
        try:
            open_sealed(content_key, bytes.fromhex(t["sealed_hex"]))
        except SealError as e:
            assert str(e) == t["error"], (t["description"], str(e))
        else:
            raise AssertionError("tampered file opened: " + t["description"])


# JWE (section 3), by hand and with jwcrypto.

def private_key(jwk):
    if jwk["kty"] == "EC":
        return ec.derive_private_key(int.from_bytes(b64d(jwk["d"]), "big"), ec.SECP256R1())
    n, e, d, p, q = (int.from_bytes(b64d(jwk[k]), "big") for k in ("n", "e", "d", "p", "q"))
    return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
                                 rsa.RSAPublicNumbers(e, n)).private_key()


def concat_kdf(z, alg_id, apu=b"", apv=b""):
    lp = lambda b: struct.pack(">I", len(b)) + b
    return hashlib.sha256(struct.pack(">I", 1) + z + lp(alg_id.encode()) + lp(apu) + lp(apv) + struct.pack(">I", 256)).digest()


def jwe_decrypt(compact, jwk):
    header_b64, ek, iv, ct, tag = compact.split(".")
    header = json.loads(b64d(header_b64))
    assert header["enc"] == "A256GCM" and "zip" not in header and "crit" not in header
    key = private_key(jwk)
    if header["alg"] == "ECDH-ES":
        assert ek == ""
        epk = header["epk"]
        peer = ec.EllipticCurvePublicNumbers(int.from_bytes(b64d(epk["x"]), "big"), int.from_bytes(b64d(epk["y"]), "big"), ec.SECP256R1()).public_key()
        cek = concat_kdf(key.exchange(ec.ECDH(), peer), "A256GCM", b64d(header.get("apu", "")), b64d(header.get("apv", "")))
    elif header["alg"] == "RSA-OAEP-256":
        cek = key.decrypt(b64d(ek), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    else:
        raise ValueError(header["alg"])
    return AESGCM(cek).decrypt(b64d(iv), b64d(ct) + b64d(tag), header_b64.encode())


def jwcrypto_decrypt(compact, jwk):
    token = jc_jwe.JWE()
    token.deserialize(compact)
    token.decrypt(jc_jwk.JWK(**jwk))
    return token.payload


def check_jwe():
    for name in ("jwe-ecdh-es.json", "jwe-rsa-oaep-256.json"):
        v = load(name)
        assert jwe_decrypt(v["jwe"], v["private_jwk"]).hex() == v["plaintext_hex"], name
        assert jwcrypto_decrypt(v["jwe"], v["private_jwk"]).hex() == v["plaintext_hex"], name


# Licenses (section 2).

def verify_license(compact, jwks):
    header_b64, payload_b64, sig_b64 = compact.split(".")
    header = json.loads(b64d(header_b64))
    assert header["alg"] == "EdDSA" and header["typ"] == "fount-license+jwt" and "crit" not in header
    key = next((k for k in jwks["keys"] if k["kid"] == header["kid"] and k["kty"] == "OKP" and k["crv"] == "Ed25519"), None)
    if key is None:
        return "UnknownSigningKey", None
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(b64d(key["x"])).verify(b64d(sig_b64), f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature:
        return "BadSignature", None
    return None, json.loads(b64d(payload_b64))


def verdict(compact, jwks, device_id, trusted, now):
    err, claims = verify_license(compact, jwks)
    if err:
        return err
    if claims["cnf"]["jkt"] != device_id:
        return "WrongDevice"
    trusted = max(trusted, claims["iat"])
    if now < trusted - TOLERANCE:
        return "ClockRolledBack"
    if now + TOLERANCE < claims["nbf"]:
        return "NotYetValid"
    if "exp" in claims and now >= claims["exp"]:
        return "Expired"
    if now >= claims["renew_by"]:
        return "RenewRequired"
    return "ok"


def check_licenses():
    v = load("license.json")
    jwks = v["jwks"]
    for case in v["cases"]:
        got = verdict(v["licenses"][case["license"]], jwks, case["device_id"], case["trusted"], case["now"])
        assert got == case["result"], (case, got)
    rental = v["licenses"]["rental"]
    _, claims = verify_license(rental, jwks)
    assert claims == v["rental_claims"]
    assert claims["cnf"]["jkt"] == thumbprint({k: v["device_private_jwk"][k] for k in ("kty", "crv", "x", "y")})
    assert jwe_decrypt(claims["keys"][0]["jwe"], v["device_private_jwk"]).hex() == v["content_key_hex"]
    # The same with jwcrypto: verify the JWS, then open the JWE with the device key.
    token = jc_jws.JWS()
    token.deserialize(rental)
    token.verify(jc_jwk.JWK(**jwks["keys"][0]), alg="EdDSA")
    payload = json.loads(token.payload)
    assert jwcrypto_decrypt(payload["keys"][0]["jwe"], v["device_private_jwk"]).hex() == v["content_key_hex"]
    try:
        jwcrypto_decrypt(payload["keys"][0]["jwe"], v["other_device_private_jwk"])
    except Exception:
        pass
    else:
        raise AssertionError("another device opened the content key")


# Manifests (section 6).

def fragment_start(fragment):
    for part in fragment.split("&"):
        if part.startswith("t="):
            value = part[2:].removeprefix("npt:").split(",")[0]
            seconds = 0.0
            for p in value.split(":"):
                seconds = seconds * 60 + float(p)
            return seconds
    raise ValueError(fragment)


def check_manifest():
    v = load("manifest.json")
    m = v["manifest"]
    starts, t = [], 0.0
    for link in m["readingOrder"]:
        starts.append(t)
        t += link["duration"]
    total = t
    hrefs = [link["href"] for link in m["readingOrder"]]
    chapters = []

    def walk(links, depth):
        for link in links:
            path, _, fragment = link["href"].partition("#")
            track = hrefs.index(path)
            offset = fragment_start(fragment) if fragment else 0.0
            chapters.append({"title": link["title"], "track": track, "offset": offset, "start": starts[track] + offset, "depth": depth})
            walk(link.get("children", []), depth + 1)

    walk(m["toc"], 0)
    assert chapters == v["chapters"], chapters
    for pos in v["positions"]:
        s = min(max(pos["seconds"], 0.0), total)
        track = max(i for i, st in enumerate(starts) if st <= s)
        offset = min(s - starts[track], m["readingOrder"][track]["duration"])
        chapter = max(i for i, c in enumerate(chapters) if c["start"] <= starts[track] + offset)
        assert [track, offset, chapter] == [pos["track"], pos["offset"], pos["chapter"]], pos
    for r in v["byte_ranges"]:
        link = m["readingOrder"][r["track"]]
        length, d = link["properties"]["encrypted"]["originalLength"], link["duration"]
        assert [round(length * r["from"] / d), round(length * r["to"] / d)] == r["bytes"]


def main():
    for check in (check_device_ids, check_sealed, check_jwe, check_licenses, check_manifest):
        check()
        print(f"ok   {check.__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
