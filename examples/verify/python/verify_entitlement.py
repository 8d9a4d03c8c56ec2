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
- License Manager: well-formed, for your product SKU, issued by AWS Marketplace, not past its
  expiration (until when the sidecar vouches for the license); not cryptographically verified unless
  you give issuer_key: then the signedToken must be PS384 (pinned), signed by that key, name the file's
  licenseArn and, if it has a product claim, your SKU. The rules of the package's
  checkLicenseEntitlementFile.
"""
import argparse
import base64
import json
import math
import os
import re
import stat
import sys
from datetime import datetime, timedelta, timezone

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
CHECKOUT_TYPES = ("PROVISIONAL", "PERPETUAL")
# re.ASCII: Python's \d would otherwise match any Unicode digit, JavaScript's only 0-9.
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d):(\d\d))",
                     re.IGNORECASE | re.ASCII)
B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ABSENT = object()
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

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
    # The app's clock to the millisecond, as JavaScript's Date (the sidecar's library) holds it.
    now_ms = ((now or datetime.now(timezone.utc)) - _EPOCH) // timedelta(milliseconds=1)
    return _verify(path, source, product_code, public_key, public_key_version, product_sku, issuer_key, now_ms)


def _verify(path, source, product_code, public_key, public_key_version, product_sku, issuer_key, now_ms):
    record = _read_record(path)
    actual = record.get("source", REGISTER_USAGE)
    if actual not in (REGISTER_USAGE, LICENSE_MANAGER):
        raise EntitlementError("malformed", f"{path}: unknown source {actual!r}")
    if actual != source:
        raise EntitlementError("wrong_source", f"{path} is a {actual} file; this app expects {source}")
    if source == LICENSE_MANAGER:
        return _license_manager(path, record, product_sku, issuer_key, now_ms)
    return _register_usage(path, record, product_code, public_key, public_key_version, now_ms / 1000)


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


def _license_manager(path, record, product_sku, issuer_key, now_ms):
    if product_sku is None:
        raise ValueError("product_sku is required for license-manager files")
    sku, arn, fingerprint = record.get("productSku"), record.get("licenseArn"), record.get("keyFingerprint")
    entitlements, stale, signed = record.get("entitlements"), record.get("stale"), record.get("signedToken", _ABSENT)
    checked, expires = _instant(record.get("checkedAt")), _instant(record.get("expiration"))
    if not (_is_text(sku, 2048) and _is_text(arn, 2048) and record.get("checkoutType") in CHECKOUT_TYPES
            and isinstance(fingerprint, str) and _is_entitlements(entitlements) and checked is not None
            and expires is not None and isinstance(stale, bool) and (signed is None or isinstance(signed, str))):
        raise EntitlementError("malformed", f"{path} lacks or mangles productSku, licenseArn, checkoutType, keyFingerprint, "
                                            "entitlements, checkedAt, expiration, stale or signedToken")
    if sku != product_sku:
        raise EntitlementError("product_sku_mismatch", f"{path} is for product SKU {sku}, expected {product_sku}")
    if fingerprint != AWS_MARKETPLACE_FINGERPRINT:
        raise EntitlementError("key_fingerprint_mismatch", f"{path}: the license was not issued by AWS Marketplace ({fingerprint})")
    # Past its expiration the sidecar that kept the file current is gone (or the license has ended).
    if expires <= now_ms:
        raise EntitlementError("expired", f"{path} vouched for the license until {_iso_ms(expires)}")
    verified = False
    if issuer_key is not None:
        if signed is None:
            raise EntitlementError("signed_token_missing", f"{path} has no signedToken to verify with the issuer key")
        now_s = now_ms / 1000
        claims = _verified_claims(signed, issuer_key, "PS384", now_s)
        if _string_claim(claims, "licenseArn", "LicenseArn") != arn:
            raise EntitlementError("license_arn_mismatch", "the signed token's licenseArn differs from the file's")
        # AWS's sample token has no product claim; one that is there must name this product.
        token_sku = _claim_value(claims, "productSku", "ProductSKU")
        if token_sku is not _ABSENT and not _same(token_sku, sku):
            raise EntitlementError("product_sku_mismatch", "the signed token's product claim differs from the file's productSku")
        _check_issued_at(claims, now_s)
        verified = True
    return {"valid": True, "source": LICENSE_MANAGER, "productSku": sku, "licenseArn": arn,
            "checkoutType": record["checkoutType"],
            "entitlements": [{"name": e["name"], "unit": e["unit"], "value": e["value"]} for e in entitlements],
            "issuedAt": _string_or_none(record.get("issuedAt")), "expiration": _iso_ms(expires), "stale": stale,
            "tokenVerified": verified}


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


def _claim_value(claims, camel, pascal):
    """A claim as the package's library reads it: camelCase as AWS's sample code does, the API reference's
    PascalCase tolerated; two spellings with different values refused; a camelCase null counts as absent
    (JavaScript's `camel ?? pascal`). _ABSENT when the token has neither."""
    a, b = claims.get(camel, _ABSENT), claims.get(pascal, _ABSENT)
    if a is not _ABSENT and b is not _ABSENT and not _same(a, b):
        raise EntitlementError("claims_conflict", f"the token spells {camel} twice with different values")
    return a if a is not _ABSENT and a is not None else b


def _claim(claims, camel, pascal):
    value = _claim_value(claims, camel, pascal)
    if value is _ABSENT:
        raise EntitlementError("claims_missing", f"the token has no {camel} claim")
    return value


def _string_claim(claims, camel, pascal):
    value = _claim(claims, camel, pascal)
    if not isinstance(value, str):
        raise EntitlementError("claims_invalid", f"the {camel} claim is not a string")
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


def _js_length(text):
    """A string's length as JavaScript counts it (UTF-16 code units), as the library's limits do."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_text(v, max_length):
    return isinstance(v, str) and 0 < _js_length(v) <= max_length


def _is_entitlements(value):
    # One to 100 entitlements, each with its name, unit and value (null for a tier) spelled out.
    return isinstance(value, list) and 0 < len(value) <= 100 and all(
        isinstance(e, dict) and _is_text(e.get("name"), 255) and _is_text(e.get("unit"), 64)
        and "value" in e and (e["value"] is None or _is_text(e["value"], 64)) for e in value)


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
    """Epoch milliseconds of an RFC 3339 time with a zone, or None, read as the sidecar's library reads it
    (JavaScript's Date.parse): the fraction cut to milliseconds, a day up to 31 in any month (30 February
    2026 is 2 March), 24:00:00 the next midnight, an offset up to 23:59."""
    m = RFC3339.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    fraction = m.group(7) or ""
    off_hour, off_minute = (int(m.group(10)), int(m.group(11))) if m.group(9) else (0, 0)
    midnight = hour == 24 and minute == 0 and second == 0 and fraction.strip("0") == ""
    if not (1 <= month <= 12 and 1 <= day <= 31 and (hour < 24 or midnight) and minute < 60 and second < 60
            and off_hour < 24 and off_minute < 60):
        return None
    offset = (off_hour * 60 + off_minute) * (-1 if m.group(9) == "-" else 1)
    return ((_days_from_civil(year, month, 1) + day - 1) * 86_400_000 + hour * 3_600_000 + (minute - offset) * 60_000
            + second * 1000 + int((fraction + "000")[:3]))


def _days_from_civil(year, month, day):
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar (any year, year 0 too)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468


def _iso_ms(epoch_ms):
    try:
        return (_EPOCH + timedelta(milliseconds=epoch_ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:  # outside years 1 to 9999, though still a time to JavaScript
        return f"{epoch_ms} ms after the epoch"


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

    now_ms = (datetime.now(timezone.utc) - _EPOCH) // timedelta(milliseconds=1)
    if a.now is not None:
        now_ms = _instant(a.now)
        if now_ms is None:
            p.error(f"--now {a.now!r} is not an RFC 3339 time")
    if a.public_key_version is not None and a.public_key_version < 1:
        p.error("--public-key-version must be an integer >= 1")
    if a.source == REGISTER_USAGE and (a.product_code is None or a.public_key is None):
        p.error("--product-code and --public-key are required for register-usage")
    if a.source == LICENSE_MANAGER and a.product_sku is None:
        p.error("--product-sku is required for license-manager")
    try:
        result = _verify(a.file, a.source, a.product_code, None if a.public_key is None else key(a.public_key),
                         a.public_key_version, a.product_sku, None if a.issuer_key is None else key(a.issuer_key), now_ms)
    except EntitlementError as e:
        print(json.dumps({"valid": False, "reason": e.reason, "message": str(e)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
