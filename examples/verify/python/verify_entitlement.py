#!/usr/bin/env python3
"""Verify the entitlement file the marketplace-entitlement-sidecar writes, from a Python app.

Needs PyJWT (2.x) and cryptography; on Debian 12: apt-get install python3-jwt python3-cryptography.

    from verify_entitlement import EntitlementError, load_public_key, verify_entitlement_file
    try:
        ent = verify_entitlement_file("/var/run/marketplace/entitlement.json",
                                      product_code="prod-abc123",        # your own, never the file's
                                      public_key=load_public_key(PEM))   # the product's key
    except EntitlementError as e:
        refuse(e.reason, str(e))

The rules (the same in every recipe of examples/verify; reason words in its README):
- RegisterUsage: the token must be PS256 (pinned before any cryptography), canonical base64url,
  signed by the product's key, its claims equal to the file's fields and to your product code, and
  issued no more than MAX_SKEW_SECONDS ahead of now.
- License Manager: reported, not cryptographically verified unless the file has a signedToken and you
  give issuer_key (then PS384 pinned, productSku and licenseArn equal to the file's).
"""
import argparse
import base64
import json
import math
import os
import re
import stat
import sys
from datetime import datetime, timezone

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

REGISTER_USAGE = "register-usage"
LICENSE_MANAGER = "license-manager"
# How far in the future a token's iat may lie (clock differences): 5 minutes, as the sidecar allows.
MAX_SKEW_SECONDS = 300
# The key fingerprint of licenses AWS Marketplace issues; anything else is a license someone else made.
AWS_MARKETPLACE_FINGERPRINT = "aws:294406891311:AWS/Marketplace:issuer-fingerprint"
MAX_FILE_BYTES = 64 * 1024
# Date's range in JavaScript (the sidecar's): an iat beyond it is no time at all.
MAX_EPOCH_SECONDS = 8.64e12
MAX_SAFE_INTEGER = 2**53 - 1
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)
B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ABSENT = object()

# PyJWT's own time checks use the wall clock (no injectable "now"), give iat no leeway of its own
# (2.6 refuses an iat one second ahead) and, with an "aud" in the token, refuse it unless an audience
# is passed. The recipe turns them off and checks the times itself, on the caller's clock.
_PYJWT_OPTIONS = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "require": [],
}


class EntitlementError(Exception):
    """The file does not entitle: `reason` is a stable word, the message says why."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


def load_public_key(pem):
    """An RSA public key of at least 2048 bits from PEM text or bytes; ValueError otherwise."""
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, RSAPublicKey) or key.key_size < 2048:
        raise ValueError("not an RSA public key of at least 2048 bits")
    return key


def verify_entitlement_file(path, *, source=REGISTER_USAGE, product_code=None, public_key=None,
                            public_key_version=None, product_sku=None, issuer_key=None, now=None):
    """The verified entitlement as a dict, or EntitlementError. `now` (an aware datetime) defaults to the clock."""
    now_s = (now or datetime.now(timezone.utc)).timestamp()
    record = _read_record(path)
    actual = record.get("source", REGISTER_USAGE)
    if actual not in (REGISTER_USAGE, LICENSE_MANAGER):
        raise EntitlementError("malformed", f"{path}: unknown source {actual!r}")
    if actual != source:
        raise EntitlementError("wrong_source", f"{path} is a {actual} file; this app expects {source}")
    if source == LICENSE_MANAGER:
        return _license_manager(path, record, product_sku, issuer_key, now_s)
    return _register_usage(path, record, product_code, public_key, public_key_version, now_s)


def _register_usage(path, record, product_code, public_key, public_key_version, now_s):
    if product_code is None or public_key is None:
        raise ValueError("product_code and public_key are required for register-usage files")
    file_code, file_version = record.get("productCode"), record.get("publicKeyVersion")
    nonce, token = record.get("nonce"), record.get("signature")
    if not (isinstance(file_code, str) and _is_number(file_version) and isinstance(nonce, str) and isinstance(token, str)):
        raise EntitlementError("malformed", f"{path} lacks productCode, publicKeyVersion, nonce or signature")
    if file_code != product_code:
        raise EntitlementError("product_code_mismatch", f"{path} is for product {file_code}, expected {product_code}")
    if public_key_version is not None and file_version != public_key_version:
        raise EntitlementError("public_key_version_mismatch", f"{path} is for key version {file_version}, expected {public_key_version}")

    claims = _verified_claims(token, public_key, "PS256", now_s)
    code = _string_claim(claims, "productCode", "ProductCode")
    version = _version_claim(claims)
    token_nonce = _string_claim(claims, "nonce", "Nonce")
    if code != file_code:
        raise EntitlementError("product_code_mismatch", "the productCode claim differs from the file's")
    if version != file_version:
        raise EntitlementError("public_key_version_mismatch", "the publicKeyVersion claim differs from the file's")
    if token_nonce != nonce:
        raise EntitlementError("nonce_mismatch", "the nonce claim differs from the file's")
    iat = _check_issued_at(claims, now_s)
    return {"valid": True, "source": REGISTER_USAGE, "productCode": code, "publicKeyVersion": version,
            "issuedAt": None if iat is None else _iso(iat), "tokenVerified": True}


def _license_manager(path, record, product_sku, issuer_key, now_s):
    if product_sku is None:
        raise ValueError("product_sku is required for license-manager files")
    sku, arn, fingerprint = record.get("productSku"), record.get("licenseArn"), record.get("keyFingerprint")
    entitlements, expiration = record.get("entitlements"), record.get("expiration")
    stale, signed = record.get("stale"), record.get("signedToken", _ABSENT)
    if not (isinstance(sku, str) and isinstance(arn, str) and isinstance(fingerprint, str)
            and isinstance(stale, bool) and (signed is None or isinstance(signed, str)) and _is_entitlements(entitlements)):
        raise EntitlementError("malformed", f"{path} lacks productSku, licenseArn, keyFingerprint, entitlements, stale or signedToken")
    expires = _instant(expiration)
    if expires is None:
        raise EntitlementError("malformed", f"{path}: expiration is not an RFC 3339 time")
    if sku != product_sku:
        raise EntitlementError("product_sku_mismatch", f"{path} is for product SKU {sku}, expected {product_sku}")
    if fingerprint != AWS_MARKETPLACE_FINGERPRINT:
        raise EntitlementError("key_fingerprint_mismatch", f"{path}: the license was not issued by AWS Marketplace ({fingerprint})")
    if expires <= now_s:
        raise EntitlementError("expired", f"{path}: the license check expired at {expiration}")
    verified = False
    if issuer_key is not None:
        if signed is None:
            raise EntitlementError("signed_token_missing", f"{path} has no signedToken to verify with the issuer key")
        claims = _verified_claims(signed, issuer_key, "PS384", now_s)
        if _string_claim(claims, "productSku", "ProductSKU") != sku:
            raise EntitlementError("product_sku_mismatch", "the signed token's productSku differs from the file's")
        if _string_claim(claims, "licenseArn", "LicenseArn") != arn:
            raise EntitlementError("license_arn_mismatch", "the signed token's licenseArn differs from the file's")
        _check_issued_at(claims, now_s)
        verified = True
    return {"valid": True, "source": LICENSE_MANAGER, "productSku": sku, "licenseArn": arn,
            "checkoutType": _string_or_none(record.get("checkoutType")),
            "entitlements": [{"name": e["name"], "unit": e["unit"], "value": e.get("value")} for e in entitlements],
            "issuedAt": _string_or_none(record.get("issuedAt")), "expiration": _iso(expires), "stale": stale, "tokenVerified": verified}


def _read_record(path):
    # The sidecar renames a regular file into place: never follow a link, never block on a FIFO,
    # never read megabytes.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise EntitlementError("unreadable", f"{path} cannot be read ({e.strerror})") from e
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise EntitlementError("unreadable", f"{path} is not a regular file")
        data = b""
        while len(data) <= MAX_FILE_BYTES and (more := os.read(fd, MAX_FILE_BYTES + 1 - len(data))):
            data += more
    except OSError as e:
        raise EntitlementError("unreadable", f"{path} cannot be read ({e.strerror})") from e
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise EntitlementError("unreadable", f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        record = _strict_json(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as e:  # RecursionError: nested deeper than Python recurses
        raise EntitlementError("malformed", f"{path} is not JSON") from e
    if not isinstance(record, dict):
        raise EntitlementError("malformed", f"{path} is not a JSON object")
    return record


def _verified_claims(token, key, alg, now_s):
    """The claims of a JWS whose algorithm is `alg` and whose signature verifies with `key`."""
    # Decoders ignore the unused low bits of a segment's last character (and Python's skips characters
    # outside the alphabet): without this check one token would verify under several spellings.
    segments = token.split(".")
    if len(segments) != 3 or not all(_canonical(s) for s in segments):
        raise EntitlementError("malformed", "the token is not three canonical base64url segments")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, RecursionError) as e:
        raise EntitlementError("malformed", f"the token's header is not a JSON object ({e})") from e
    # Pinned before any cryptography: refuses none, RS256, and HS256 keyed with the public PEM.
    if header.get("alg") != alg:
        raise EntitlementError("algorithm", f"the token is not signed with {alg}: got {header.get('alg')!r}")
    try:
        claims = jwt.decode(token, key, algorithms=[alg], options=_PYJWT_OPTIONS)
    except jwt.InvalidSignatureError as e:
        raise EntitlementError("signature", "the signature does not verify with the key") from e
    except jwt.InvalidAlgorithmError as e:
        raise EntitlementError("algorithm", str(e)) from e
    except (jwt.PyJWTError, RecursionError) as e:
        raise EntitlementError("malformed", f"the token's payload is not a JSON object ({e})") from e
    # Times as the sidecar checks them (jose), in its order: whole seconds, nbf and exp exactly, iat
    # (in _check_issued_at) with MAX_SKEW_SECONDS.
    now_whole = math.floor(now_s)
    for name in ("iat", "nbf", "exp"):
        if name not in claims:
            continue
        if not _is_number(claims[name]):
            raise EntitlementError("claims_invalid", f"the {name} claim is not a number")
        if name == "nbf" and claims[name] > now_whole:
            raise EntitlementError("expired", "the token's nbf lies in the future")
        if name == "exp" and claims[name] <= now_whole:
            raise EntitlementError("expired", "the token's exp has passed")
    return claims


def _check_issued_at(claims, now_s):
    iat = claims.get("iat")
    if iat is None:
        return None
    if not abs(iat) <= MAX_EPOCH_SECONDS:  # also NaN and infinities
        raise EntitlementError("claims_invalid", f"iat {iat} is not a representable time")
    if iat > now_s + MAX_SKEW_SECONDS:
        raise EntitlementError("issued_in_future", f"the token was issued at {_iso(iat)}, more than {MAX_SKEW_SECONDS} s ahead")
    return iat


def _claim(claims, *names):
    """A claim under any of its spellings (camelCase as AWS's sample code reads it, PascalCase as its
    API reference shows it); two spellings with different values are refused."""
    values = [claims.get(n, _ABSENT) for n in names]
    present = [v for v in values if v is not _ABSENT]
    if not present:
        raise EntitlementError("claims_missing", f"the token has no {names[0]} claim")
    if any(not _same(present[0], v) for v in present[1:]):
        raise EntitlementError("claims_conflict", f"the token spells {names[0]} twice with different values")
    return present[0]


def _string_claim(claims, *names):
    value = _claim(claims, *names)
    if not isinstance(value, str):
        raise EntitlementError("claims_invalid", f"the {names[0]} claim is not a string")
    return value


def _version_claim(claims):
    value = _claim(claims, "publicKeyVersion", "PublicKeyVersion")
    if _is_number(value) and abs(value) <= MAX_SAFE_INTEGER and float(value).is_integer():
        return int(value)
    # A numeric string still names exactly one version; the sidecar accepts it too.
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
        return int(value)
    raise EntitlementError("claims_invalid", "the publicKeyVersion claim is not an integer")


def _same(a, b):
    # JSON equality as JavaScript's === sees it: 1 and 1.0 are one number, true is not 1, objects never equal.
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and isinstance(a, (str, bool, type(None))) and a == b


def _string_or_none(v):
    return v if isinstance(v, str) else None


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_entitlements(value):
    return isinstance(value, list) and all(
        isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("unit"), str)
        and (e.get("value") is None or isinstance(e.get("value"), str)) for e in value)


def _canonical(segment):
    if not B64URL.fullmatch(segment):
        return False
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return False
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == segment


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _instant(text):
    """Epoch seconds of an RFC 3339 time with a zone, or None."""
    if not isinstance(text, str) or not RFC3339.fullmatch(text):
        return None
    head, _, rest = text.upper().partition(".")
    if rest:  # fromisoformat before 3.11 takes 3 or 6 digits of fraction only
        digits = re.match(r"\d+", rest).group(0)
        head += "." + (digits + "000000")[:6] + rest[len(digits):]
    try:
        return datetime.fromisoformat(head.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _iso(epoch_s):
    try:
        return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):  # beyond year 9999, though still a time to JavaScript
        return f"{epoch_s} s after the epoch"


def main(argv=None):
    class Parser(argparse.ArgumentParser):
        def error(self, message):
            self.print_usage(sys.stderr)
            print(f"verify_entitlement.py: {message}", file=sys.stderr)
            sys.exit(2)

    p = Parser(description="Verify the marketplace entitlement file. Exit 0 valid, 1 invalid, 2 bad arguments.")
    p.add_argument("file")
    p.add_argument("--source", choices=[REGISTER_USAGE, LICENSE_MANAGER], default=REGISTER_USAGE)
    p.add_argument("--product-code", help="your product code (register-usage)")
    p.add_argument("--public-key", help="path of the product's public key PEM (register-usage)")
    p.add_argument("--public-key-version", type=int, help="the key version the file must be for")
    p.add_argument("--product-sku", help="your product SKU (license-manager)")
    p.add_argument("--issuer-key", help="path of the license issuer's public key PEM (license-manager)")
    p.add_argument("--now", help="the time to verify at, RFC 3339 (default: the clock)")
    a = p.parse_args(argv)

    def key(path):
        try:
            with open(path, "rb") as f:
                return load_public_key(f.read(16 * 1024))
        except (OSError, ValueError) as e:
            p.error(f"{path}: {e}")

    now = None
    if a.now is not None:
        at = _instant(a.now)
        if at is None:
            p.error(f"--now {a.now!r} is not an RFC 3339 time")
        now = datetime.fromtimestamp(at, timezone.utc)
    if a.public_key_version is not None and a.public_key_version < 1:
        p.error("--public-key-version must be an integer >= 1")
    if a.source == REGISTER_USAGE and (a.product_code is None or a.public_key is None):
        p.error("--product-code and --public-key are required for register-usage")
    if a.source == LICENSE_MANAGER and a.product_sku is None:
        p.error("--product-sku is required for license-manager")
    try:
        result = verify_entitlement_file(
            a.file, source=a.source, product_code=a.product_code,
            public_key=None if a.public_key is None else key(a.public_key),
            public_key_version=a.public_key_version, product_sku=a.product_sku,
            issuer_key=None if a.issuer_key is None else key(a.issuer_key), now=now)
    except EntitlementError as e:
        print(json.dumps({"valid": False, "reason": e.reason, "message": str(e)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
