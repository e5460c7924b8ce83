#!/usr/bin/env python3
"""Independent verifier for publication seals (gov-disclosure/seal@1).

Written from docs/seal.md alone (no code shared with the Rust crate), using
the `cryptography` package and the standard library. It makes the checks of
docs/seal.md section 6 in the same order and prints one line per check and
the verdict:

    verify_seal.py --keys jwks.json [--content FILE] [--channel ID] [--now SECS]
                   [--status STATUS] [--refuse-dev-keys] SEAL.jws

The seal file holds the seal; one final line ending (LF or CRLF) is dropped,
nothing else (docs/seal.md section 6).

Exit status: 0 valid, 1 invalid, 2 usage or input error.
"""

import argparse
import base64
import hashlib
import json
import re
import sys
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGS = ("EdDSA", "Ed25519")
TYP = "gov-seal+jws"
MAX_SEAL = 96 * 1024
MAX_INT = 2**53 - 1
B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
TOKEN = re.compile(r"^[A-Za-z0-9._:+-]{1,64}$")
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
ROLE = re.compile(r"^[a-z0-9_]{1,32}$")
STATUSES = ("valid", "withdrawn", "suspended", "superseded", "revoked")

# Ed25519 (RFC 8032 section 5.1): the field prime, the curve constant d, the
# group order L. Used only for the strict rules that OpenSSL (and so the
# `cryptography` package) does not apply: a small-order R or public key.
P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P
L = 2**252 + 27742317777372353535851937790883648493
SQRT_M1 = pow(2, (P - 1) // 4, P)


def decode_point(b):
    """RFC 8032 section 5.1.3; None when the bytes are not a point."""
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def point_add(p, q):
    """Twisted Edwards addition (a = -1), complete on this curve."""
    (x1, y1), (x2, y2) = p, q
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def small_order(b):
    """True when the 32 bytes decode to a point of order 1, 2, 4 or 8."""
    pt = decode_point(b)
    if pt is None:
        return False
    for _ in range(3):
        pt = point_add(pt, pt)
    return pt == (0, 1)


class Refused(Exception):
    pass


def b64url(s):
    """Strict unpadded base64url."""
    if not B64URL.match(s) or len(s) % 4 == 1:
        raise Refused("not unpadded base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != s:
        raise Refused("non-canonical base64url")
    return raw


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Refused(f"duplicate member {k!r}")
        d[k] = v
    return d


def strict_json(raw):
    def no_float(s):
        raise Refused(f"number {s} is not an integer")

    return json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_float=no_float,
                      parse_constant=no_float)


def thumbprint(x):
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + x + '"}'
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


def load_keys(path):
    with open(path, "rb") as f:
        doc = json.load(f)
    keys = {}
    for jwk in doc["keys"]:
        kid = jwk["kid"]
        if kid in keys:
            raise Refused(f"duplicate kid {kid}")
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            if thumbprint(jwk["x"]) != kid:
                raise Refused(f"kid {kid} is not the thumbprint of its key")
            if len(b64url(jwk["x"])) != 32:
                raise Refused(f"key {kid} is not 32 bytes")
            if small_order(b64url(jwk["x"])):
                raise Refused(f"key {kid} is a weak (small-order) key")
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "EdDSA") not in ALGS:
                raise Refused(f"key {kid} is not an EdDSA signing key")
            if jwk.get("status", "active") not in ("active", "revoked"):
                raise Refused(f"key {kid} has an unknown status")
            if not isinstance(jwk.get("dev_key", False), bool):
                raise Refused(f"key {kid}: dev_key is not a boolean")
        keys[kid] = jwk
    return keys


def is_int(v, lo=0):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= MAX_INT


def is_text(v, n):
    """1-n characters, none a control character (section 3); nothing more."""
    return isinstance(v, str) and 1 <= len(v) <= n and not any(
        ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in v)


def exact(obj, members, optional=()):
    if not isinstance(obj, dict):
        raise Refused("expected an object")
    extra = set(obj) - set(members) - set(optional)
    missing = set(members) - set(obj)
    if extra or missing:
        raise Refused(f"members: unknown {sorted(extra)}, missing {sorted(missing)}")


def digest_obj(obj, what, extra=()):
    exact(obj, ("sha256",) + tuple(extra), optional=("sm3",))
    if not isinstance(obj["sha256"], str) or not HEX64.match(obj["sha256"]):
        raise Refused(f"{what}.sha256 is not 64 lowercase hex digits")
    if "sm3" in obj and (not isinstance(obj["sm3"], str) or not HEX64.match(obj["sm3"])):
        raise Refused(f"{what}.sm3 is not 64 lowercase hex digits")


def check_manifest(m):
    """docs/seal.md section 3."""
    exact(m, ("format", "serial", "item", "content", "attribute", "issuer", "doc_number", "channels",
              "not_before", "sealed_at", "review", "sign_off", "supersedes", "key", "dev_key"))
    if m["format"] != "gov-disclosure/seal@1":
        raise Refused("format is not gov-disclosure/seal@1")
    if not isinstance(m["serial"], str) or not TOKEN.match(m["serial"]):
        raise Refused("serial is not a token")
    exact(m["item"], ("id", "version"))
    item_id = m["item"]["id"]
    if not isinstance(item_id, str) or not (1 <= len(item_id) <= 128) or not all(0x21 <= ord(c) <= 0x7E for c in item_id):
        raise Refused("item.id is not 1-128 printable ASCII")
    if not is_int(m["item"]["version"], 1):
        raise Refused("item.version")
    digest_obj(m["content"], "content", extra=("format",))
    if m["content"]["format"] != "gov-disclosure/content@1":
        raise Refused("content.format")
    if m["attribute"] not in ("public", "on_request", "withheld"):
        raise Refused("attribute")
    if not is_text(m["issuer"], 200):
        raise Refused("issuer")
    if m["doc_number"] is not None and not is_text(m["doc_number"], 100):
        raise Refused("doc_number")
    ch = m["channels"]
    if not isinstance(ch, list) or not ch or not all(isinstance(c, str) and CHANNEL.match(c) for c in ch):
        raise Refused("channels")
    if any(a >= b for a, b in zip(ch, ch[1:])):
        raise Refused("channels are not sorted and unique")
    if not is_int(m["not_before"]) or not is_int(m["sealed_at"]):
        raise Refused("not_before / sealed_at")
    r = m["review"]
    exact(r, ("policy", "plugins", "approvals"))
    digest_obj(r["policy"], "review.policy")
    digest_obj(r["approvals"], "review.approvals")
    if not isinstance(r["plugins"], list):
        raise Refused("review.plugins")
    for p in r["plugins"]:
        digest_obj(p, "review.plugins[]", extra=("name", "version"))
        if not all(isinstance(p[k], str) and TOKEN.match(p[k]) for k in ("name", "version")):
            raise Refused("review.plugins[] name/version")
    s = m["sign_off"]
    exact(s, ("responsible", "role", "statement", "statement_version"))
    if not (isinstance(s["responsible"], str) and TOKEN.match(s["responsible"])):
        raise Refused("sign_off.responsible is not a pseudonymous token")
    if not (isinstance(s["role"], str) and ROLE.match(s["role"])):
        raise Refused("sign_off.role")
    if not (isinstance(s["statement"], str) and TOKEN.match(s["statement"])) or not is_int(s["statement_version"], 1):
        raise Refused("sign_off.statement")
    sup = m["supersedes"]
    if sup is not None and (not isinstance(sup, str) or not TOKEN.match(sup) or sup == m["serial"]):
        raise Refused("supersedes")
    exact(m["key"], ("kid", "alg"))
    if m["key"]["alg"] not in ALGS or not isinstance(m["key"]["kid"], str):
        raise Refused("key")
    if not isinstance(m["dev_key"], bool):
        raise Refused("dev_key")


def verify(seal, keys, content=None, channel=None, now=None, status=None, refuse_dev_keys=False):
    """Returns (checks, failed_check, manifest); checks = [(name, outcome, detail)]."""
    checks = []

    def result(failed):
        return checks, failed, None

    # 1 structure
    parts = seal.split(".")
    try:
        if len(seal) > MAX_SEAL or len(parts) != 3 or not all(parts):
            raise Refused("not three non-empty segments")
        hdr_raw, payload, sig = (b64url(x) for x in parts)
        checks.append(("structure", "PASS", "JWS compact"))
    except (Refused, ValueError) as e:
        checks.append(("structure", "FAIL", str(e)))
        return result("structure")
    # 2 header
    try:
        hdr = strict_json(hdr_raw)
        exact(hdr, ("alg", "kid", "typ"))
        if hdr["alg"] not in ALGS or hdr["typ"] != TYP or not isinstance(hdr["kid"], str):
            raise Refused(f"alg {hdr['alg']!r} / typ {hdr['typ']!r} refused")
        checks.append(("header", "PASS", f"alg {hdr['alg']}, kid {hdr['kid']}"))
    except (Refused, ValueError) as e:
        checks.append(("header", "FAIL", str(e)))
        return result("header")
    # 3 key
    jwk = keys.get(hdr["kid"])
    if jwk is None or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        checks.append(("key", "FAIL", f"no Ed25519 key {hdr['kid']} in the key set"))
        return result("key")
    checks.append(("key", "PASS", f"key {hdr['kid']}"))
    # 4 signature, over the received bytes, strictly: S < L and R not of
    # small order (OpenSSL checks the first, not the second).
    try:
        if len(sig) != 64:
            raise InvalidSignature()
        if int.from_bytes(sig[32:], "little") >= L or small_order(sig[:32]):
            raise InvalidSignature()
        Ed25519PublicKey.from_public_bytes(b64url(jwk["x"])).verify(sig, f"{parts[0]}.{parts[1]}".encode("ascii"))
        checks.append(("signature", "PASS", "Ed25519 signature verifies"))
    except InvalidSignature:
        checks.append(("signature", "FAIL", "signature does not verify"))
        return result("signature")
    # 5 manifest, parsed only now
    try:
        m = strict_json(payload)
        check_manifest(m)
        checks.append(("manifest", "PASS", f"serial {m['serial']}"))
    except (Refused, ValueError, KeyError, TypeError) as e:
        checks.append(("manifest", "FAIL", str(e)))
        return result("manifest")

    failed = []

    def check(name, ok, detail, skipped=False):
        outcome = "----" if skipped else ("PASS" if ok else "FAIL")
        checks.append((name, outcome, detail))
        if outcome == "FAIL":
            failed.append(name)

    # 6 - 13
    check("key-binding", m["key"]["kid"] == hdr["kid"] and m["key"]["alg"] == hdr["alg"], "manifest key = header key")
    at = m["sealed_at"]
    check("key-validity", ("nbf" not in jwk or jwk["nbf"] <= at) and ("exp" not in jwk or at < jwk["exp"]),
          f"sealed_at {at}, key nbf {jwk.get('nbf')} exp {jwk.get('exp')}")
    check("key-revocation", jwk.get("status", "active") != "revoked", "key status")
    if status is None:
        check("seal-status", True, "not checked", skipped=True)
    else:
        check("seal-status", status == "valid", f"status {status}")
    if content is None:
        check("content", True, "not checked", skipped=True)
    else:
        actual = hashlib.sha256(content).hexdigest()
        check("content", actual == m["content"]["sha256"], f"content sha256 {actual}, sealed {m['content']['sha256']}")
    if channel is None:
        check("channel", True, "not checked", skipped=True)
    else:
        check("channel", channel in m["channels"], f"{channel} in {m['channels']}")
    if now is None:
        check("not-before", True, "not checked", skipped=True)
    else:
        check("not-before", now >= m["not_before"], f"now {now}, not before {m['not_before']}")
    # The key set, not the seal, says what a development key is.
    dev = jwk.get("dev_key", False) is True or m["dev_key"]
    check("dev-key", not (dev and refuse_dev_keys), "DEVELOPMENT key" if dev else "production key")
    m["dev_key"] = dev
    return checks, (failed[0] if failed else None), m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", required=True)
    ap.add_argument("--content")
    ap.add_argument("--channel")
    ap.add_argument("--now", type=int, default=None, help="seconds since the epoch (default: now)")
    ap.add_argument("--status", choices=STATUSES, help="the seal's status from the gateway")
    ap.add_argument("--refuse-dev-keys", action="store_true")
    ap.add_argument("seal")
    a = ap.parse_args()
    try:
        keys = load_keys(a.keys)
        with open(a.seal, "rb") as f:
            raw = f.read()
        for ending in (b"\r\n", b"\n"):
            if raw.endswith(ending):
                raw = raw[:-len(ending)]
                break
        seal = raw.decode("ascii")
        content = None
        if a.content:
            with open(a.content, "rb") as f:
                content = f.read()
    except (OSError, ValueError, KeyError, Refused) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    now = a.now if a.now is not None else int(time.time())
    checks, failed, m = verify(seal, keys, content, a.channel, now, a.status, a.refuse_dev_keys)
    for name, outcome, detail in checks:
        print(f"{outcome} {name:<15} {detail}")
    if failed:
        print(f"INVALID {failed}")
        return 1
    print(f"VALID {m['serial']}" + (" (development key)" if m["dev_key"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
