// Package entitlement verifies the entitlement file that marketplace-entitlement-sidecar writes on the
// shared volume, so that a Go app trusts AWS's signed token rather than the existence of a file.
//
//	key, err := entitlement.ParsePublicKey(productPublicKeyPEM)
//	ent, err := entitlement.VerifyFile("/var/run/marketplace/entitlement.json", entitlement.Config{
//		ProductCode: "prod-abc123", // your own, never the file's
//		PublicKey:   key,
//	})
//	var e *entitlement.Error
//	if errors.As(err, &e) { refuse(e.Reason, e.Message) }
//
// It uses github.com/golang-jwt/jwt/v4 (Debian 12: golang-github-golang-jwt-jwt-dev, v4.4) for the key
// and the PSS signature, not its Parse: v4's Parse validates exp/iat/nbf against the global
// jwt.TimeFunc with no leeway (a token issued one second ahead is refused) and before the signature,
// reports a method refused by WithValidMethods as a signature error, and its SigningMethodPS256
// verifies with rsa.PSSSaltLengthAuto (any salt length; RFC 7518 says the hash's). So the token is
// checked here step by step: canonical base64url, the algorithm pinned, the signature with a salt as
// long as the hash, then the claims, each on the caller's clock.
package entitlement

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v4"
)

const (
	RegisterUsage  = "register-usage"
	LicenseManager = "license-manager"
	// MaxSkew is how far in the future a token's iat may lie (clock differences), as the sidecar allows.
	MaxSkew = 5 * time.Minute
	// AWSMarketplaceFingerprint is the key fingerprint of licenses AWS Marketplace issues.
	AWSMarketplaceFingerprint = "aws:294406891311:AWS/Marketplace:issuer-fingerprint"

	maxFileBytes = 64 << 10
	// Date's range in JavaScript (the sidecar's): an iat beyond it is no time at all.
	maxEpochSeconds = 8.64e12
	maxSafeInteger  = 1<<53 - 1
)

// PSS with the salt as long as the hash (RFC 7518 3.5), unlike golang-jwt v4's own PS256/PS384.
var (
	ps256 = &jwt.SigningMethodRSAPSS{SigningMethodRSA: jwt.SigningMethodPS256.SigningMethodRSA, Options: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}}
	ps384 = &jwt.SigningMethodRSAPSS{SigningMethodRSA: jwt.SigningMethodPS384.SigningMethodRSA, Options: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}}

	b64url  = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)
	rfc3339 = regexp.MustCompile(`^(?i)(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d):(\d\d))$`)
	digits  = regexp.MustCompile(`^[0-9]{1,10}$`)
)

// Config is the app's own configuration: which file it expects and what that file must say.
type Config struct {
	Source string // RegisterUsage (default) or LicenseManager

	ProductCode      string         // register-usage: your product code
	PublicKey        *rsa.PublicKey // register-usage: the product's public key
	PublicKeyVersion int            // register-usage: the key version the file must be for; 0 = any

	ProductSKU string         // license-manager: your product SKU
	IssuerKey  *rsa.PublicKey // license-manager: the issuer's key; nil = the signedToken is not verified

	Now time.Time // zero = time.Now(); used to the millisecond, as the sidecar's library (JavaScript's Date)
}

// Entitlement is what a verified file says.
type Entitlement struct {
	Source           string
	ProductCode      string
	PublicKeyVersion int64
	IssuedAt         *time.Time // register-usage: the token's iat, if any

	ProductSKU   string
	LicenseArn   string
	CheckoutType string // PROVISIONAL or PERPETUAL
	Entitlements []LicenseEntitlement
	Issued       string    // license-manager: the file's issuedAt
	CheckedAt    time.Time // when License Manager last confirmed the license
	Expiration   time.Time // until when the file vouches for the license (the sidecar keeps moving it)
	Stale        bool      // the sidecar could not re-check the license; it is within its grace period

	TokenVerified bool // a signed token was verified (always, for register-usage)
}

// LicenseEntitlement is one entitlement of a license: a tier (Unit "None") or a quantity.
type LicenseEntitlement struct {
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value *string `json:"value"`
}

// Error says why a file does not entitle: Reason is a stable word (see examples/verify/README.md).
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(reason, format string, args ...any) error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ParsePublicKey reads an RSA public key PEM of at least 2048 bits.
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	key, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes)
	if err != nil {
		return nil, err
	}
	if key.N.BitLen() < 2048 {
		return nil, errors.New("the RSA key has fewer than 2048 bits")
	}
	return key, nil
}

// VerifyFile reads the entitlement file at path and verifies it against cfg.
func VerifyFile(path string, cfg Config) (*Entitlement, error) {
	now := cfg.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Truncate(time.Millisecond)
	expected := cfg.Source
	if expected == "" {
		expected = RegisterUsage
	}
	record, err := readRecord(path)
	if err != nil {
		return nil, err
	}
	source := RegisterUsage
	if v, ok := record["source"]; ok {
		s, _ := v.(string)
		if s != RegisterUsage && s != LicenseManager {
			return nil, fail("malformed", "%s: unknown source %v", path, v)
		}
		source = s
	}
	if source != expected {
		return nil, fail("wrong_source", "%s is a %s file; this app expects %s", path, source, expected)
	}
	if source == LicenseManager {
		return licenseManager(path, record, cfg, now)
	}
	return registerUsage(path, record, cfg, now)
}

func registerUsage(path string, record map[string]any, cfg Config, now time.Time) (*Entitlement, error) {
	if cfg.ProductCode == "" || cfg.PublicKey == nil {
		return nil, errors.New("entitlement: Config.ProductCode and Config.PublicKey are required for register-usage files")
	}
	code, okCode := record["productCode"].(string)
	version, okVersion := number(record["publicKeyVersion"])
	nonce, okNonce := record["nonce"].(string)
	token, okToken := record["signature"].(string)
	if !okCode || !okVersion || !okNonce || !okToken {
		return nil, fail("malformed", "%s lacks productCode, publicKeyVersion, nonce or signature", path)
	}
	if code != cfg.ProductCode {
		return nil, fail("product_code_mismatch", "%s is for product %s, expected %s", path, code, cfg.ProductCode)
	}
	if cfg.PublicKeyVersion != 0 && version != float64(cfg.PublicKeyVersion) {
		return nil, fail("public_key_version_mismatch", "%s is for key version %v, expected %d", path, version, cfg.PublicKeyVersion)
	}

	claims, err := verifiedClaims(token, cfg.PublicKey, ps256, now)
	if err != nil {
		return nil, err
	}
	claimCode, err := stringClaim(claims, "productCode", "ProductCode")
	if err != nil {
		return nil, err
	}
	claimVersion, err := versionClaim(claims)
	if err != nil {
		return nil, err
	}
	claimNonce, err := stringClaim(claims, "nonce", "Nonce")
	if err != nil {
		return nil, err
	}
	switch {
	case claimCode != code:
		return nil, fail("product_code_mismatch", "the productCode claim differs from the file's")
	case float64(claimVersion) != version:
		return nil, fail("public_key_version_mismatch", "the publicKeyVersion claim differs from the file's")
	case claimNonce != nonce:
		return nil, fail("nonce_mismatch", "the nonce claim differs from the file's")
	}
	iat, err := checkIssuedAt(claims, now)
	if err != nil {
		return nil, err
	}
	return &Entitlement{Source: RegisterUsage, ProductCode: claimCode, PublicKeyVersion: claimVersion, IssuedAt: iat, TokenVerified: true}, nil
}

func licenseManager(path string, record map[string]any, cfg Config, now time.Time) (*Entitlement, error) {
	if cfg.ProductSKU == "" {
		return nil, errors.New("entitlement: Config.ProductSKU is required for license-manager files")
	}
	sku, ok1 := text(record["productSku"], 2048)
	arn, ok2 := text(record["licenseArn"], 2048)
	checkoutType, _ := record["checkoutType"].(string)
	fingerprint, ok3 := record["keyFingerprint"].(string)
	entitlements, ok4 := licenseEntitlements(record["entitlements"])
	checkedAt, ok5 := instantOf(record["checkedAt"])
	expiration, ok6 := instantOf(record["expiration"])
	stale, ok7 := record["stale"].(bool)
	signed, hasSigned := record["signedToken"]
	token, isString := signed.(string)
	if !ok1 || !ok2 || (checkoutType != "PROVISIONAL" && checkoutType != "PERPETUAL") || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 ||
		!hasSigned || (signed != nil && !isString) {
		return nil, fail("malformed", "%s lacks or mangles productSku, licenseArn, checkoutType, keyFingerprint, entitlements, checkedAt, expiration, stale or signedToken", path)
	}
	if sku != cfg.ProductSKU {
		return nil, fail("product_sku_mismatch", "%s is for product SKU %s, expected %s", path, sku, cfg.ProductSKU)
	}
	if fingerprint != AWSMarketplaceFingerprint {
		return nil, fail("key_fingerprint_mismatch", "%s: the license was not issued by AWS Marketplace (%s)", path, fingerprint)
	}
	// Past its expiration the sidecar that kept the file current is gone (or the license has ended).
	if !expiration.After(now) {
		return nil, fail("expired", "%s vouched for the license until %s", path, ISOMillis(expiration))
	}
	verified := false
	if cfg.IssuerKey != nil {
		if signed == nil {
			return nil, fail("signed_token_missing", "%s has no signedToken to verify with the issuer key", path)
		}
		claims, err := verifiedClaims(token, cfg.IssuerKey, ps384, now)
		if err != nil {
			return nil, err
		}
		if v, err := stringClaim(claims, "licenseArn", "LicenseArn"); err != nil {
			return nil, err
		} else if v != arn {
			return nil, fail("license_arn_mismatch", "the signed token's licenseArn differs from the file's")
		}
		// AWS's sample token has no product claim; one that is there must name this product.
		if v, present, err := claimValue(claims, "productSku", "ProductSKU"); err != nil {
			return nil, err
		} else if present && !same(v, sku) {
			return nil, fail("product_sku_mismatch", "the signed token's product claim differs from the file's productSku")
		}
		if _, err := checkIssuedAt(claims, now); err != nil {
			return nil, err
		}
		verified = true
	}
	issued, _ := record["issuedAt"].(string)
	return &Entitlement{
		Source: LicenseManager, ProductSKU: sku, LicenseArn: arn, CheckoutType: checkoutType, Entitlements: entitlements,
		Issued: issued, CheckedAt: checkedAt, Expiration: expiration, Stale: stale, TokenVerified: verified,
	}, nil
}

// readRecord reads the file as the sidecar wrote it: a regular file renamed into place, so never a
// link followed, never a FIFO blocked on, never megabytes read.
func readRecord(path string) (map[string]any, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fail("unreadable", "%s cannot be read (%v)", path, errors.Unwrap(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fail("unreadable", "%s cannot be read (%v)", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fail("unreadable", "%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fail("unreadable", "%s cannot be read (%v)", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fail("unreadable", "%s is larger than %d bytes", path, maxFileBytes)
	}
	// Invalid UTF-8 becomes U+FFFD, as in Node (the sidecar's language): unsigned fields can hold anything.
	record, ok := jsonObject(data)
	if !ok {
		return nil, fail("malformed", "%s is not a JSON object", path)
	}
	return record, nil
}

// verifiedClaims returns the claims of a JWS signed with method by key.
func verifiedClaims(token string, key *rsa.PublicKey, method *jwt.SigningMethodRSAPSS, now time.Time) (map[string]any, error) {
	// Decoders ignore the unused low bits of a segment's last character (and Go's skips \r and \n):
	// without this check one token would verify under several spellings.
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !canonical(parts[0]) || !canonical(parts[1]) || !canonical(parts[2]) {
		return nil, fail("malformed", "the token is not three canonical base64url segments")
	}
	headerBytes, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header map[string]any
	if err := json.Unmarshal(headerBytes, &header); err != nil || header == nil {
		return nil, fail("malformed", "the token's header is not a JSON object")
	}
	// Pinned before any cryptography: refuses none, RS256, and HS256 keyed with the public PEM.
	if alg, _ := header["alg"].(string); alg != method.Alg() {
		return nil, fail("algorithm", "the token is not signed with %s: got %v", method.Alg(), header["alg"])
	}
	if err := method.Verify(parts[0]+"."+parts[1], parts[2], key); err != nil {
		return nil, fail("signature", "the signature does not verify with the key")
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	claims, ok := jsonObject(payload)
	if !ok || !utf8.Valid(payload) {
		return nil, fail("malformed", "the token's payload is not a JSON object")
	}
	// Times as the sidecar checks them (jose), in its order: whole seconds, nbf and exp exactly, iat
	// (in checkIssuedAt) with MaxSkew.
	whole := float64(now.Unix())
	for _, name := range []string{"iat", "nbf", "exp"} {
		v, present := claims[name]
		if !present {
			continue
		}
		t, isNumber := number(v)
		switch {
		case !isNumber:
			return nil, fail("claims_invalid", "the %s claim is not a number", name)
		case name == "nbf" && t > whole:
			return nil, fail("expired", "the token's nbf lies in the future")
		case name == "exp" && t <= whole:
			return nil, fail("expired", "the token's exp has passed")
		}
	}
	return claims, nil
}

func checkIssuedAt(claims map[string]any, now time.Time) (*time.Time, error) {
	iat, present := number(claims["iat"])
	if !present {
		return nil, nil
	}
	if !(math.Abs(iat) <= maxEpochSeconds) { // also NaN and infinities
		return nil, fail("claims_invalid", "iat %v is not a representable time", iat)
	}
	nowSeconds := float64(now.UnixMilli()) / 1000
	issued := time.UnixMilli(int64(math.Round(iat * 1000))).UTC()
	if iat > nowSeconds+MaxSkew.Seconds() {
		return nil, fail("issued_in_future", "the token was issued at %s, more than %v ahead", issued.Format(time.RFC3339), MaxSkew)
	}
	return &issued, nil
}

// claimValue reads a claim as the package's library does: camelCase as AWS's sample code reads it,
// PascalCase as its API reference shows it; two spellings with different values are refused; a camelCase
// null counts as absent (JavaScript's `camel ?? pascal`). Claims are read from a map on purpose:
// encoding/json matches struct fields case-insensitively and lets the last spelling win.
func claimValue(claims map[string]any, camel, pascal string) (any, bool, error) {
	a, hasA := claims[camel]
	b, hasB := claims[pascal]
	if hasA && hasB && !same(a, b) {
		return nil, false, fail("claims_conflict", "the token spells %s twice with different values", camel)
	}
	if hasA && a != nil {
		return a, true, nil
	}
	return b, hasB, nil
}

func claim(claims map[string]any, camel, pascal string) (any, error) {
	v, present, err := claimValue(claims, camel, pascal)
	if err == nil && !present {
		err = fail("claims_missing", "the token has no %s claim", camel)
	}
	return v, err
}

func stringClaim(claims map[string]any, camel, pascal string) (string, error) {
	v, err := claim(claims, camel, pascal)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fail("claims_invalid", "the %s claim is not a string", camel)
	}
	return s, nil
}

func versionClaim(claims map[string]any) (int64, error) {
	v, err := claim(claims, "publicKeyVersion", "PublicKeyVersion")
	if err != nil {
		return 0, err
	}
	if n, ok := number(v); ok && math.Abs(n) <= maxSafeInteger && n == math.Trunc(n) {
		return int64(n), nil
	}
	// A numeric string still names exactly one version; the sidecar accepts it too.
	if s, ok := v.(string); ok && digits.MatchString(s) {
		n, _ := strconv.ParseInt(s, 10, 64)
		return n, nil
	}
	return 0, fail("claims_invalid", "the publicKeyVersion claim is not an integer")
}

// same is JSON equality as JavaScript's === sees it: 1 and 1.0 are one number, objects are never equal.
func same(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	switch a.(type) {
	case string, bool, nil:
		return a == b
	}
	return false
}

// number is a JSON number's value (json.Number, from a decoder with UseNumber).
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // 1e400 is Infinity to JavaScript, still a number
		return 0, false
	}
	return f, true
}

// jsonObject parses one JSON object with numbers kept as json.Number, nothing after it.
func jsonObject(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	m, ok := v.(map[string]any) // a JSON null decodes without error into a nil map: refused here
	return m, ok
}

// licenseEntitlements reads one to 100 entitlements, each with its name, unit and value (null for a
// tier) spelled out.
func licenseEntitlements(v any) ([]LicenseEntitlement, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 || len(list) > 100 {
		return nil, false
	}
	out := make([]LicenseEntitlement, 0, len(list))
	for _, item := range list {
		e, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok1 := text(e["name"], 255)
		unit, ok2 := text(e["unit"], 64)
		raw, hasValue := e["value"]
		var value *string
		if s, ok := text(raw, 64); ok {
			value = &s
		} else if raw != nil {
			return nil, false
		}
		if !ok1 || !ok2 || !hasValue {
			return nil, false
		}
		out = append(out, LicenseEntitlement{Name: name, Unit: unit, Value: value})
	}
	return out, true
}

// text is a non-empty string of at most max characters as JavaScript counts them (UTF-16 code units),
// as the library's limits do.
func text(v any, max int) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF { // two UTF-16 code units
			n++
		}
	}
	return s, n > 0 && n <= max
}

func canonical(segment string) bool {
	if !b64url.MatchString(segment) {
		return false
	}
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	return err == nil && base64.RawURLEncoding.EncodeToString(decoded) == segment
}

// ParseTime reads an RFC 3339 time with a zone, as the sidecar writes them (see instant).
func ParseTime(text string) (time.Time, bool) {
	return instant(text)
}

func instantOf(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	return instant(s)
}

// instant reads an RFC 3339 time with a zone as the sidecar's library reads it (JavaScript's
// Date.parse): the fraction cut to milliseconds, a day up to 31 in any month (30 February 2026 is 2 March),
// 24:00:00 the next midnight, an offset up to 23:59.
func instant(text string) (time.Time, bool) {
	m := rfc3339.FindStringSubmatch(text)
	if m == nil {
		return time.Time{}, false
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	year, month, day, hour, minute, second := n(1), n(2), n(3), n(4), n(5), n(6)
	offHour, offMinute := 0, 0
	if m[9] != "" {
		offHour, offMinute = n(10), n(11)
	}
	midnight := hour == 24 && minute == 0 && second == 0 && strings.Trim(m[7], "0") == ""
	if month < 1 || month > 12 || day < 1 || day > 31 || (hour > 23 && !midnight) || minute > 59 || second > 59 || offHour > 23 || offMinute > 59 {
		return time.Time{}, false
	}
	millis, _ := strconv.Atoi((m[7] + "000")[:3])
	offset := time.Duration(offHour*60+offMinute) * time.Minute
	if m[9] == "-" {
		offset = -offset
	}
	// time.Date normalizes: day 31 of a 30-day month is the 1st of the next, hour 24 the next day.
	return time.Date(year, time.Month(month), day, hour, minute, second, millis*int(time.Millisecond), time.UTC).Add(-offset), true
}

// ISOMillis formats an instant as the sidecar does (JavaScript's toISOString).
func ISOMillis(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
