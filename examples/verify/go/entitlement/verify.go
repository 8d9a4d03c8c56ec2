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
	rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$`)
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

	Now time.Time // zero = time.Now()
}

// Entitlement is what a verified file says.
type Entitlement struct {
	Source           string
	ProductCode      string
	PublicKeyVersion int64
	IssuedAt         *time.Time // register-usage: the token's iat, if any

	ProductSKU   string
	LicenseArn   string
	CheckoutType string
	Entitlements []LicenseEntitlement
	Issued       string // license-manager: the file's issuedAt
	Expiration   time.Time
	Stale        bool // the sidecar could not re-check the license; it is within its grace period

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
	sku, ok1 := record["productSku"].(string)
	arn, ok2 := record["licenseArn"].(string)
	fingerprint, ok3 := record["keyFingerprint"].(string)
	stale, ok4 := record["stale"].(bool)
	signed, hasSigned := record["signedToken"]
	token, isString := signed.(string)
	entitlements, ok5 := licenseEntitlements(record["entitlements"])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !hasSigned || (signed != nil && !isString) {
		return nil, fail("malformed", "%s lacks productSku, licenseArn, keyFingerprint, entitlements, stale or signedToken", path)
	}
	expirationText, _ := record["expiration"].(string)
	expiration, ok := instant(expirationText)
	if !ok {
		return nil, fail("malformed", "%s: expiration is not an RFC 3339 time", path)
	}
	if sku != cfg.ProductSKU {
		return nil, fail("product_sku_mismatch", "%s is for product SKU %s, expected %s", path, sku, cfg.ProductSKU)
	}
	if fingerprint != AWSMarketplaceFingerprint {
		return nil, fail("key_fingerprint_mismatch", "%s: the license was not issued by AWS Marketplace (%s)", path, fingerprint)
	}
	if !expiration.After(now) {
		return nil, fail("expired", "%s: the license check expired at %s", path, expirationText)
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
		if v, err := stringClaim(claims, "productSku", "ProductSKU"); err != nil {
			return nil, err
		} else if v != sku {
			return nil, fail("product_sku_mismatch", "the signed token's productSku differs from the file's")
		}
		if v, err := stringClaim(claims, "licenseArn", "LicenseArn"); err != nil {
			return nil, err
		} else if v != arn {
			return nil, fail("license_arn_mismatch", "the signed token's licenseArn differs from the file's")
		}
		if _, err := checkIssuedAt(claims, now); err != nil {
			return nil, err
		}
		verified = true
	}
	checkoutType, _ := record["checkoutType"].(string)
	issued, _ := record["issuedAt"].(string)
	return &Entitlement{
		Source: LicenseManager, ProductSKU: sku, LicenseArn: arn, CheckoutType: checkoutType, Entitlements: entitlements,
		Issued: issued, Expiration: expiration, Stale: stale, TokenVerified: verified,
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
	nowSeconds := float64(now.UnixNano()) / 1e9
	issued := time.UnixMilli(int64(math.Round(iat * 1000))).UTC()
	if iat > nowSeconds+MaxSkew.Seconds() {
		return nil, fail("issued_in_future", "the token was issued at %s, more than %v ahead", issued.Format(time.RFC3339), MaxSkew)
	}
	return &issued, nil
}

// claim reads a claim under any of its spellings (camelCase as AWS's sample code reads it, PascalCase as
// its API reference shows it); two spellings with different values are refused. Claims are read from a
// map on purpose: encoding/json matches struct fields case-insensitively and lets the last spelling win.
func claim(claims map[string]any, names ...string) (any, error) {
	var found any
	have := false
	for _, name := range names {
		v, ok := claims[name]
		if !ok {
			continue
		}
		if have && !same(found, v) {
			return nil, fail("claims_conflict", "the token spells %s twice with different values", names[0])
		}
		found, have = v, true
	}
	if !have {
		return nil, fail("claims_missing", "the token has no %s claim", names[0])
	}
	return found, nil
}

func stringClaim(claims map[string]any, names ...string) (string, error) {
	v, err := claim(claims, names...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fail("claims_invalid", "the %s claim is not a string", names[0])
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

func licenseEntitlements(v any) ([]LicenseEntitlement, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]LicenseEntitlement, 0, len(list))
	for _, item := range list {
		e, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok1 := e["name"].(string)
		unit, ok2 := e["unit"].(string)
		var value *string
		if s, isString := e["value"].(string); isString {
			value = &s
		} else if e["value"] != nil {
			return nil, false
		}
		if !ok1 || !ok2 {
			return nil, false
		}
		out = append(out, LicenseEntitlement{Name: name, Unit: unit, Value: value})
	}
	return out, true
}

func canonical(segment string) bool {
	if !b64url.MatchString(segment) {
		return false
	}
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	return err == nil && base64.RawURLEncoding.EncodeToString(decoded) == segment
}

// ParseTime reads an RFC 3339 time with a zone, as the sidecar writes them.
func ParseTime(text string) (time.Time, bool) {
	return instant(text)
}

func instant(text string) (time.Time, bool) {
	text = strings.ToUpper(text)
	if !rfc3339.MatchString(text) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, text)
	return t, err == nil
}
