// Command verify-entitlement verifies the marketplace entitlement file and prints one JSON line.
// Exit code 0 valid, 1 invalid, 2 bad arguments.
//
//	verify-entitlement --product-code prod-abc123 --public-key product.pem /var/run/marketplace/entitlement.json
//	verify-entitlement --source license-manager --product-sku <uuid> [--issuer-key issuer.pem] FILE
package main

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"example.com/entitlement-verify/entitlement"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("verify-entitlement", flag.ContinueOnError)
	flags.SetOutput(stderr)
	source := flags.String("source", entitlement.RegisterUsage, "register-usage or license-manager")
	productCode := flags.String("product-code", "", "your product code (register-usage)")
	publicKey := flags.String("public-key", "", "path of the product's public key PEM (register-usage)")
	version := flags.String("public-key-version", "", "the key version the file must be for")
	productSKU := flags.String("product-sku", "", "your product SKU (license-manager)")
	issuerKey := flags.String("issuer-key", "", "path of the license issuer's public key PEM (license-manager)")
	now := flags.String("now", "", "the time to verify at, RFC 3339 (default: the clock)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: verify-entitlement [flags] FILE")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "verify-entitlement: "+format+"\n", a...)
		flags.Usage()
		return 2
	}
	if flags.NArg() != 1 {
		return bad("one entitlement file expected, got %d arguments", flags.NArg())
	}
	cfg := entitlement.Config{Source: *source, ProductCode: *productCode, ProductSKU: *productSKU}
	switch *source {
	case entitlement.RegisterUsage:
		if *productCode == "" || *publicKey == "" {
			return bad("--product-code and --public-key are required for register-usage")
		}
	case entitlement.LicenseManager:
		if *productSKU == "" {
			return bad("--product-sku is required for license-manager")
		}
	default:
		return bad("--source must be register-usage or license-manager")
	}
	if *version != "" {
		v, err := strconv.Atoi(*version)
		if err != nil || v < 1 {
			return bad("--public-key-version must be an integer >= 1")
		}
		cfg.PublicKeyVersion = v
	}
	if *now != "" {
		t, ok := entitlement.ParseTime(*now)
		if !ok {
			return bad("--now %q is not an RFC 3339 time", *now)
		}
		cfg.Now = t
	}
	for _, k := range []struct {
		path string
		into **rsa.PublicKey
	}{{*publicKey, &cfg.PublicKey}, {*issuerKey, &cfg.IssuerKey}} {
		if k.path == "" {
			continue
		}
		pem, err := os.ReadFile(k.path)
		if err == nil {
			*k.into, err = entitlement.ParsePublicKey(pem)
		}
		if err != nil {
			return bad("%s: %v", k.path, err)
		}
	}

	out := json.NewEncoder(stdout)
	out.SetEscapeHTML(false)
	ent, err := entitlement.VerifyFile(flags.Arg(0), cfg)
	var refused *entitlement.Error
	if errors.As(err, &refused) {
		_ = out.Encode(map[string]any{"valid": false, "reason": refused.Reason, "message": refused.Message})
		return 1
	}
	if err != nil {
		return bad("%v", err)
	}
	_ = out.Encode(result(ent))
	return 0
}

func result(e *entitlement.Entitlement) map[string]any {
	if e.Source == entitlement.LicenseManager {
		return map[string]any{
			"valid": true, "source": e.Source, "productSku": e.ProductSKU, "licenseArn": e.LicenseArn,
			"checkoutType": orNull(e.CheckoutType), "entitlements": e.Entitlements, "issuedAt": orNull(e.Issued),
			"expiration": entitlement.ISOMillis(e.Expiration), "stale": e.Stale, "tokenVerified": e.TokenVerified,
		}
	}
	var issuedAt any
	if e.IssuedAt != nil {
		issuedAt = e.IssuedAt.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return map[string]any{
		"valid": true, "source": e.Source, "productCode": e.ProductCode, "publicKeyVersion": e.PublicKeyVersion,
		"issuedAt": issuedAt, "tokenVerified": e.TokenVerified,
	}
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
