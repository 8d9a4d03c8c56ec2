import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Verifies the entitlement file that marketplace-entitlement-sidecar writes, from a Java app, with the
 * JDK alone (17+): no JOSE library, no JSON library. Copy the file into your package.
 *
 * <pre>{@code
 * RSAPublicKey key = EntitlementVerifier.parsePublicKey(productPublicKeyPem);
 * try {
 *     Map<String, Object> ent = EntitlementVerifier.verify(Path.of("/var/run/marketplace/entitlement.json"),
 *         EntitlementVerifier.Config.registerUsage("prod-abc123", key)); // your own code, never the file's
 * } catch (EntitlementVerifier.Failure f) {
 *     refuse(f.reason, f.getMessage());
 * }
 * }</pre>
 *
 * RegisterUsage: PS256 pinned before any cryptography, canonical base64url, the product's key, claims
 * equal to the file's fields and to your product code, iat no more than {@link #MAX_SKEW_SECONDS}
 * ahead. License Manager: well-formed, for your product SKU, issued by AWS Marketplace, not past its
 * expiration (until when the sidecar vouches for the license); cryptographically verified only with an
 * issuer key: then the signedToken must be PS384, signed by that key, name the file's licenseArn and, if
 * it has a product claim, your SKU. The rules of the package's checkLicenseEntitlementFile.
 */
public final class EntitlementVerifier {
    public static final String REGISTER_USAGE = "register-usage";
    public static final String LICENSE_MANAGER = "license-manager";
    /** How far in the future a token's iat may lie (clock differences): 5 minutes, as the sidecar allows. */
    public static final long MAX_SKEW_SECONDS = 300;
    /** The key fingerprint of licenses AWS Marketplace issues; anything else is a license someone else made. */
    public static final String AWS_MARKETPLACE_FINGERPRINT = "aws:294406891311:AWS/Marketplace:issuer-fingerprint";

    private static final int MAX_FILE_BYTES = 64 * 1024;
    /** Date's range in JavaScript (the sidecar's): an iat beyond it is no time at all. */
    private static final double MAX_EPOCH_SECONDS = 8.64e12;
    private static final double MAX_SAFE_INTEGER = 9007199254740991d;
    private static final Pattern B64URL = Pattern.compile("[A-Za-z0-9_-]*");
    private static final Pattern RFC3339 = Pattern.compile(
            "(\\d{4})-(\\d\\d)-(\\d\\d)T(\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d{1,9}))?(Z|([+-])(\\d\\d):(\\d\\d))", Pattern.CASE_INSENSITIVE);
    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,10}");
    private static final DateTimeFormatter ISO_MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** The app's own configuration: which file it expects and what the file must say. */
    public record Config(String source, String productCode, RSAPublicKey publicKey, Integer publicKeyVersion,
                         String productSku, RSAPublicKey issuerKey, Instant now) {
        public static Config registerUsage(String productCode, RSAPublicKey publicKey) {
            return new Config(REGISTER_USAGE, productCode, publicKey, null, null, null, null);
        }

        /** Without an issuer key the license is reported, not cryptographically verified. */
        public static Config licenseManager(String productSku) {
            return new Config(LICENSE_MANAGER, null, null, null, productSku, null, null);
        }

        public Config withPublicKeyVersion(int version) {
            return new Config(source, productCode, publicKey, version, productSku, issuerKey, now);
        }

        public Config withIssuerKey(RSAPublicKey key) {
            return new Config(source, productCode, publicKey, publicKeyVersion, productSku, key, now);
        }

        public Config at(Instant instant) {
            return new Config(source, productCode, publicKey, publicKeyVersion, productSku, issuerKey, instant);
        }
    }

    /** The file does not entitle: {@code reason} is a stable word (examples/verify/README.md). */
    public static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        public final String reason;

        Failure(String reason, String message) {
            super(message);
            this.reason = reason;
        }
    }

    private EntitlementVerifier() {
    }

    /** An RSA public key (SubjectPublicKeyInfo PEM, as AWS Marketplace issues them) of at least 2048 bits. */
    public static RSAPublicKey parsePublicKey(String pem) throws GeneralSecurityException {
        if (!pem.contains("-----BEGIN PUBLIC KEY-----")) throw new GeneralSecurityException("not a PEM PUBLIC KEY");
        String body = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----|\\s", "");
        try {
            var key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(body)));
            if (!(key instanceof RSAPublicKey rsa) || rsa.getModulus().bitLength() < 2048) {
                throw new GeneralSecurityException("not an RSA public key of at least 2048 bits");
            }
            return rsa;
        } catch (IllegalArgumentException e) {
            throw new GeneralSecurityException("the PEM's base64 is invalid", e);
        }
    }

    /** The verified entitlement, as the CLI prints it. */
    public static Map<String, Object> verify(Path file, Config config) throws Failure {
        // The app's clock to the millisecond, as JavaScript's Date (the sidecar's library) holds it.
        Instant now = (config.now() == null ? Instant.now() : config.now()).truncatedTo(ChronoUnit.MILLIS);
        Map<String, Object> record = readRecord(file);
        Object actual = record.containsKey("source") ? record.get("source") : REGISTER_USAGE;
        if (!REGISTER_USAGE.equals(actual) && !LICENSE_MANAGER.equals(actual)) {
            throw new Failure("malformed", file + ": unknown source " + Json.write(actual));
        }
        if (!actual.equals(config.source())) {
            throw new Failure("wrong_source", file + " is a " + actual + " file; this app expects " + config.source());
        }
        return LICENSE_MANAGER.equals(actual) ? licenseManager(file, record, config, now) : registerUsage(file, record, config, now);
    }

    private static Map<String, Object> registerUsage(Path file, Map<String, Object> record, Config config, Instant now) throws Failure {
        if (config.productCode() == null || config.publicKey() == null) {
            throw new IllegalArgumentException("productCode and publicKey are required for register-usage files");
        }
        if (!(record.get("productCode") instanceof String code) || !(record.get("publicKeyVersion") instanceof Double version)
                || !(record.get("nonce") instanceof String nonce) || !(record.get("signature") instanceof String token)) {
            throw new Failure("malformed", file + " lacks productCode, publicKeyVersion, nonce or signature");
        }
        if (!code.equals(config.productCode())) {
            throw new Failure("product_code_mismatch", file + " is for product " + code + ", expected " + config.productCode());
        }
        if (config.publicKeyVersion() != null && version != config.publicKeyVersion().doubleValue()) {
            throw new Failure("public_key_version_mismatch", file + " is for key version " + Json.write(version) + ", expected " + config.publicKeyVersion());
        }

        Map<String, Object> claims = verifiedClaims(token, config.publicKey(), "PS256", now);
        String claimCode = stringClaim(claims, "productCode", "ProductCode");
        long claimVersion = versionClaim(claims);
        String claimNonce = stringClaim(claims, "nonce", "Nonce");
        if (!claimCode.equals(code)) throw new Failure("product_code_mismatch", "the productCode claim differs from the file's");
        if (claimVersion != version) throw new Failure("public_key_version_mismatch", "the publicKeyVersion claim differs from the file's");
        if (!claimNonce.equals(nonce)) throw new Failure("nonce_mismatch", "the nonce claim differs from the file's");
        Double iat = checkIssuedAt(claims, now);

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("valid", true);
        out.put("source", REGISTER_USAGE);
        out.put("productCode", claimCode);
        out.put("publicKeyVersion", claimVersion);
        out.put("issuedAt", iat == null ? null : iso(iat));
        out.put("tokenVerified", true);
        return out;
    }

    private static Map<String, Object> licenseManager(Path file, Map<String, Object> record, Config config, Instant now) throws Failure {
        if (config.productSku() == null) throw new IllegalArgumentException("productSku is required for license-manager files");
        Object signed = record.get("signedToken");
        List<Map<String, Object>> entitlements = entitlements(record.get("entitlements"));
        Instant checkedAt = instant(record.get("checkedAt"));
        Instant expiration = instant(record.get("expiration"));
        if (!(record.get("productSku") instanceof String sku) || !text(sku, 2048) || !(record.get("licenseArn") instanceof String arn)
                || !text(arn, 2048) || !(record.get("checkoutType") instanceof String checkoutType)
                || !(checkoutType.equals("PROVISIONAL") || checkoutType.equals("PERPETUAL"))
                || !(record.get("keyFingerprint") instanceof String fingerprint) || entitlements == null || checkedAt == null
                || expiration == null || !(record.get("stale") instanceof Boolean stale) || !(signed == Json.NULL || signed instanceof String)) {
            throw new Failure("malformed", file + " lacks or mangles productSku, licenseArn, checkoutType, keyFingerprint, entitlements, "
                    + "checkedAt, expiration, stale or signedToken");
        }
        if (!sku.equals(config.productSku())) {
            throw new Failure("product_sku_mismatch", file + " is for product SKU " + sku + ", expected " + config.productSku());
        }
        if (!AWS_MARKETPLACE_FINGERPRINT.equals(fingerprint)) {
            throw new Failure("key_fingerprint_mismatch", file + ": the license was not issued by AWS Marketplace (" + fingerprint + ")");
        }
        // Past its expiration the sidecar that kept the file current is gone (or the license has ended).
        if (!expiration.isAfter(now)) throw new Failure("expired", file + " vouched for the license until " + ISO_MILLIS.format(expiration));
        boolean verified = false;
        if (config.issuerKey() != null) {
            if (!(signed instanceof String token)) {
                throw new Failure("signed_token_missing", file + " has no signedToken to verify with the issuer key");
            }
            Map<String, Object> claims = verifiedClaims(token, config.issuerKey(), "PS384", now);
            if (!stringClaim(claims, "licenseArn", "LicenseArn").equals(arn)) {
                throw new Failure("license_arn_mismatch", "the signed token's licenseArn differs from the file's");
            }
            // AWS's sample token has no product claim; one that is there must name this product.
            Object tokenSku = claimValue(claims, "productSku", "ProductSKU");
            if (tokenSku != null && !same(tokenSku, sku)) {
                throw new Failure("product_sku_mismatch", "the signed token's product claim differs from the file's productSku");
            }
            checkIssuedAt(claims, now);
            verified = true;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("valid", true);
        out.put("source", LICENSE_MANAGER);
        out.put("productSku", sku);
        out.put("licenseArn", arn);
        out.put("checkoutType", checkoutType);
        out.put("entitlements", entitlements);
        out.put("issuedAt", record.get("issuedAt") instanceof String s ? s : null);
        out.put("expiration", ISO_MILLIS.format(expiration));
        out.put("stale", stale);
        out.put("tokenVerified", verified);
        return out;
    }

    /**
     * Reads the file as the sidecar wrote it: a regular file renamed into place, so never a link
     * followed, never a FIFO opened (Java cannot open without blocking: the type is checked first),
     * never megabytes read.
     */
    private static Map<String, Object> readRecord(Path file) throws Failure {
        byte[] data;
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!attrs.isRegularFile()) throw new Failure("unreadable", file + " is not a regular file");
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                data = in.readNBytes(MAX_FILE_BYTES + 1);
            }
        } catch (IOException e) {
            throw new Failure("unreadable", file + " cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        if (data.length > MAX_FILE_BYTES) throw new Failure("unreadable", file + " is larger than " + MAX_FILE_BYTES + " bytes");
        // Invalid UTF-8 becomes U+FFFD, as in Node (the sidecar's language): unsigned fields can hold anything.
        if (!(parseJson(new String(data, StandardCharsets.UTF_8)) instanceof Map<?, ?> map)) {
            throw new Failure("malformed", file + " is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> record = (Map<String, Object>) map;
        return record;
    }

    /** The claims of a JWS whose algorithm is {@code alg} (PS256 or PS384) and whose signature verifies with {@code key}. */
    private static Map<String, Object> verifiedClaims(String token, RSAPublicKey key, String alg, Instant now) throws Failure {
        // Base64.getUrlDecoder() ignores the unused low bits of a segment's last character and takes
        // '=' padding: without this check one token would verify under several spellings.
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3 || !canonical(parts[0]) || !canonical(parts[1]) || !canonical(parts[2])) {
            throw new Failure("malformed", "the token is not three canonical base64url segments");
        }
        Object header = parseJson(strictUtf8(Base64.getUrlDecoder().decode(parts[0])));
        if (!(header instanceof Map<?, ?> h)) throw new Failure("malformed", "the token's header is not a JSON object");
        // Pinned before any cryptography: refuses none, RS256, and HS256 keyed with the public PEM.
        if (!alg.equals(h.get("alg"))) {
            throw new Failure("algorithm", "the token is not signed with " + alg + ": got " + Json.write(h.get("alg")));
        }
        boolean verified;
        try {
            // RSASSA-PSS has no default parameters: they must be the JWS algorithm's (RFC 7518 3.5), salt
            // as long as the hash, trailer field 1.
            Signature pss = Signature.getInstance("RSASSA-PSS");
            pss.setParameter(alg.equals("PS256")
                    ? new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1)
                    : new PSSParameterSpec("SHA-384", "MGF1", MGF1ParameterSpec.SHA384, 48, 1));
            pss.initVerify(key);
            pss.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            verified = pss.verify(Base64.getUrlDecoder().decode(parts[2]));
        } catch (SignatureException e) {
            verified = false; // e.g. a signature of the wrong length
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot verify RSASSA-PSS", e);
        }
        if (!verified) throw new Failure("signature", "the signature does not verify with the key");
        if (!(parseJson(strictUtf8(Base64.getUrlDecoder().decode(parts[1]))) instanceof Map<?, ?> payload)) {
            throw new Failure("malformed", "the token's payload is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> claims = (Map<String, Object>) payload;
        // Times as the sidecar checks them (jose), in its order: whole seconds, nbf and exp exactly, iat
        // (in checkIssuedAt) with MAX_SKEW_SECONDS.
        long whole = now.getEpochSecond();
        for (String name : List.of("iat", "nbf", "exp")) {
            if (!claims.containsKey(name)) continue;
            if (!(claims.get(name) instanceof Double t)) throw new Failure("claims_invalid", "the " + name + " claim is not a number");
            if (name.equals("nbf") && t > whole) throw new Failure("expired", "the token's nbf lies in the future");
            if (name.equals("exp") && t <= whole) throw new Failure("expired", "the token's exp has passed");
        }
        return claims;
    }

    private static Double checkIssuedAt(Map<String, Object> claims, Instant now) throws Failure {
        if (!(claims.get("iat") instanceof Double iat)) return null;
        if (!(Math.abs(iat) <= MAX_EPOCH_SECONDS)) throw new Failure("claims_invalid", "iat " + iat + " is not a representable time");
        double nowSeconds = now.toEpochMilli() / 1000.0;
        if (iat > nowSeconds + MAX_SKEW_SECONDS) {
            throw new Failure("issued_in_future", "the token was issued at " + iso(iat) + ", more than " + MAX_SKEW_SECONDS + " s ahead");
        }
        return iat;
    }

    /**
     * A claim as the package's library reads it: camelCase as AWS's sample code does, the API reference's
     * PascalCase tolerated; two spellings with different values are refused; a camelCase null counts as
     * absent (JavaScript's {@code camel ?? pascal}). Java null when the token has neither.
     */
    private static Object claimValue(Map<String, Object> claims, String camel, String pascal) throws Failure {
        Object a = claims.get(camel);
        Object b = claims.get(pascal);
        if (a != null && b != null && !same(a, b)) {
            throw new Failure("claims_conflict", "the token spells " + camel + " twice with different values");
        }
        return a != null && a != Json.NULL ? a : b;
    }

    private static Object claim(Map<String, Object> claims, String camel, String pascal) throws Failure {
        Object value = claimValue(claims, camel, pascal);
        if (value == null) throw new Failure("claims_missing", "the token has no " + camel + " claim");
        return value;
    }

    private static String stringClaim(Map<String, Object> claims, String camel, String pascal) throws Failure {
        if (claim(claims, camel, pascal) instanceof String s) return s;
        throw new Failure("claims_invalid", "the " + camel + " claim is not a string");
    }

    private static long versionClaim(Map<String, Object> claims) throws Failure {
        Object v = claim(claims, "publicKeyVersion", "PublicKeyVersion");
        if (v instanceof Double d && Math.abs(d) <= MAX_SAFE_INTEGER && d == Math.rint(d)) return d.longValue();
        // A numeric string still names exactly one version; the sidecar accepts it too.
        if (v instanceof String s && DIGITS.matcher(s).matches()) return Long.parseLong(s);
        throw new Failure("claims_invalid", "the publicKeyVersion claim is not an integer");
    }

    /** JSON equality as JavaScript's === sees it: objects and arrays are never equal. */
    private static boolean same(Object a, Object b) {
        if (a instanceof Double x) return b instanceof Double y && x.doubleValue() == y.doubleValue();
        return (a instanceof String || a instanceof Boolean || a == Json.NULL) && a.equals(b);
    }

    /** One to 100 entitlements, each with its name, unit and value (null for a tier) spelled out; null otherwise. */
    private static List<Map<String, Object>> entitlements(Object value) {
        if (!(value instanceof List<?> list) || list.isEmpty() || list.size() > 100) return null;
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> e) || !(e.get("name") instanceof String name) || !text(name, 255)
                    || !(e.get("unit") instanceof String unit) || !text(unit, 64) || !e.containsKey("value")) {
                return null;
            }
            Object v = e.get("value");
            if (!(v instanceof String str && text(str, 64)) && v != Json.NULL) return null;
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("name", name);
            one.put("unit", unit);
            one.put("value", v == Json.NULL ? null : v);
            out.add(one);
        }
        return out;
    }

    /** A non-empty string of at most {@code max} UTF-16 code units, as the library (JavaScript) counts them. */
    private static boolean text(String s, int max) {
        return !s.isEmpty() && s.length() <= max;
    }

    private static boolean canonical(String segment) {
        if (!B64URL.matcher(segment).matches()) return false;
        try {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(Base64.getUrlDecoder().decode(segment)).equals(segment);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * An RFC 3339 time with a zone, or null, read as the sidecar's library reads it (JavaScript's
     * Date.parse): the fraction cut to milliseconds, a day up to 31 in any month (30 February 2026 is 2 March),
     * 24:00:00 the next midnight, an offset up to 23:59.
     */
    static Instant instant(Object text) {
        if (!(text instanceof String s)) return null;
        var m = RFC3339.matcher(s);
        if (!m.matches()) return null;
        int year = Integer.parseInt(m.group(1)), month = Integer.parseInt(m.group(2)), day = Integer.parseInt(m.group(3));
        int hour = Integer.parseInt(m.group(4)), minute = Integer.parseInt(m.group(5)), second = Integer.parseInt(m.group(6));
        String fraction = m.group(7) == null ? "" : m.group(7);
        int offHour = m.group(9) == null ? 0 : Integer.parseInt(m.group(10));
        int offMinute = m.group(9) == null ? 0 : Integer.parseInt(m.group(11));
        boolean midnight = hour == 24 && minute == 0 && second == 0 && fraction.matches("0*");
        if (month < 1 || month > 12 || day < 1 || day > 31 || (hour > 23 && !midnight) || minute > 59 || second > 59
                || offHour > 23 || offMinute > 59) {
            return null;
        }
        long offset = (offHour * 60L + offMinute) * ("-".equals(m.group(9)) ? -1 : 1);
        long days = LocalDate.of(year, month, 1).toEpochDay() + day - 1;
        long ms = days * 86_400_000L + hour * 3_600_000L + (minute - offset) * 60_000L + second * 1000L
                + Integer.parseInt((fraction + "000").substring(0, 3));
        return Instant.ofEpochMilli(ms);
    }

    private static String iso(double epochSeconds) {
        return ISO_MILLIS.format(Instant.ofEpochMilli(Math.round(epochSeconds * 1000)));
    }

    private static Object parseJson(String text) throws Failure {
        try {
            return Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new Failure("malformed", "not JSON: " + e.getMessage());
        }
    }

    private static String strictUtf8(byte[] bytes) throws Failure {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new Failure("malformed", "the token holds invalid UTF-8");
        }
    }

    /** Just enough JSON (RFC 8259) for the file and the token: objects, arrays, strings, numbers as Double. */
    static final class Json {
        /** JSON null, so that a map tells a null field from an absent one. */
        static final Object NULL = new Object() {
            @Override
            public String toString() {
                return "null";
            }
        };
        private static final int MAX_DEPTH = 1000;
        private static final Pattern NUMBER = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");
        private final String s;
        private int i;
        private int depth;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json p = new Json(text);
            Object v = p.value();
            p.space();
            if (p.i != text.length()) throw p.error("text after the value");
            return v;
        }

        private Object value() {
            space();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if (c == '{' || c == '[') {
                if (++depth > MAX_DEPTH) throw error("nested too deeply");
                Object v = c == '{' ? object() : array();
                depth--;
                return v;
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) return literal(4, Boolean.TRUE);
            if (s.startsWith("false", i)) return literal(5, Boolean.FALSE);
            if (s.startsWith("null", i)) return literal(4, NULL);
            var m = NUMBER.matcher(s).region(i, s.length());
            if (!m.lookingAt()) throw error("unexpected character");
            i = m.end();
            return Double.valueOf(m.group()); // as JavaScript reads it: 1e400 is Infinity
        }

        private Map<String, Object> object() {
            Map<String, Object> map = new LinkedHashMap<>();
            i++;
            space();
            if (peek() == '}') {
                i++;
                return map;
            }
            for (;;) {
                space();
                if (peek() != '"') throw error("a key expected");
                String key = string();
                space();
                if (peek() != ':') throw error("':' expected");
                i++;
                map.put(key, value()); // a repeated key: the last one counts, as in JavaScript, Python and Go
                space();
                char c = peek();
                i++;
                if (c == '}') return map;
                if (c != ',') throw error("',' or '}' expected");
            }
        }

        private List<Object> array() {
            List<Object> list = new ArrayList<>();
            i++;
            space();
            if (peek() == ']') {
                i++;
                return list;
            }
            for (;;) {
                list.add(value());
                space();
                char c = peek();
                i++;
                if (c == ']') return list;
                if (c != ',') throw error("',' or ']' expected");
            }
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++;
            for (;;) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c < 0x20) throw error("control character in a string");
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = i < s.length() ? s.charAt(i++) : 0;
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length() || !s.substring(i, i + 4).matches("[0-9a-fA-F]{4}")) throw error("bad \\u escape");
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw error("bad escape");
                }
            }
        }

        private Object literal(int length, Object v) {
            i += length;
            return v;
        }

        private void space() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) i++;
        }

        private char peek() {
            return i < s.length() ? s.charAt(i) : 0;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at offset " + i);
        }

        static String write(Object v) {
            if (v == null || v == NULL) return "null";
            if (v instanceof String str) {
                StringBuilder b = new StringBuilder("\"");
                for (char c : str.toCharArray()) {
                    if (c == '"' || c == '\\') b.append('\\').append(c);
                    else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
                return b.append('"').toString();
            }
            if (v instanceof Double d) return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : d.toString();
            if (v instanceof Number || v instanceof Boolean) return v.toString();
            if (v instanceof Map<?, ?> map) {
                List<String> fields = new ArrayList<>();
                map.forEach((k, x) -> fields.add(write(String.valueOf(k)) + ":" + write(x)));
                return "{" + String.join(",", fields) + "}";
            }
            if (v instanceof List<?> list) {
                List<String> items = new ArrayList<>();
                list.forEach(x -> items.add(write(x)));
                return "[" + String.join(",", items) + "]";
            }
            return write(v.toString());
        }
    }

    /** {@code java EntitlementVerifier [flags] FILE}: one JSON line; exit 0 valid, 1 invalid, 2 bad arguments. */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    private static final String USAGE = String.join("\n",
            "usage: java EntitlementVerifier [flags] FILE",
            "  --source register-usage|license-manager   the file this app expects (default register-usage)",
            "  --product-code CODE                        your product code (register-usage)",
            "  --public-key PEM-FILE                      the product's public key (register-usage)",
            "  --public-key-version N                     the key version the file must be for",
            "  --product-sku SKU                          your product SKU (license-manager)",
            "  --issuer-key PEM-FILE                      the license issuer's public key (license-manager)",
            "  --now RFC3339                              the time to verify at (default: the clock)");

    private static int run(String[] args) {
        Map<String, String> flags = new LinkedHashMap<>();
        List<String> files = new ArrayList<>();
        List<String> known = List.of("source", "product-code", "public-key", "public-key-version", "product-sku", "issuer-key", "now");
        for (int k = 0; k < args.length; k++) {
            if (!args[k].startsWith("--")) {
                files.add(args[k]);
                continue;
            }
            String name = args[k].substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (k + 1 < args.length) {
                value = args[++k];
            }
            if (!known.contains(name)) return usage("unknown flag --" + name);
            if (value == null) return usage("--" + name + " needs a value");
            flags.put(name, value);
        }
        if (files.size() != 1) return usage("one entitlement file expected, got " + files.size());
        String source = flags.getOrDefault("source", REGISTER_USAGE);
        Config config;
        try {
            if (source.equals(REGISTER_USAGE)) {
                if (!flags.containsKey("product-code") || !flags.containsKey("public-key")) {
                    return usage("--product-code and --public-key are required for register-usage");
                }
                config = Config.registerUsage(flags.get("product-code"), key(flags.get("public-key")));
            } else if (source.equals(LICENSE_MANAGER)) {
                if (!flags.containsKey("product-sku")) return usage("--product-sku is required for license-manager");
                config = Config.licenseManager(flags.get("product-sku"));
                if (flags.containsKey("issuer-key")) config = config.withIssuerKey(key(flags.get("issuer-key")));
            } else {
                return usage("--source must be register-usage or license-manager");
            }
        } catch (GeneralSecurityException e) {
            return usage(e.getMessage());
        }
        if (flags.containsKey("public-key-version")) {
            String v = flags.get("public-key-version");
            if (!v.matches("[0-9]{1,9}") || Integer.parseInt(v) < 1) return usage("--public-key-version must be an integer >= 1");
            config = config.withPublicKeyVersion(Integer.parseInt(v));
        }
        if (flags.containsKey("now")) {
            Instant at = instant(flags.get("now"));
            if (at == null) return usage("--now " + flags.get("now") + " is not an RFC 3339 time");
            config = config.at(at);
        }
        try {
            System.out.println(Json.write(verify(Path.of(files.get(0)), config)));
            return 0;
        } catch (Failure f) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("valid", false);
            out.put("reason", f.reason);
            out.put("message", f.getMessage());
            System.out.println(Json.write(out));
            return 1;
        }
    }

    private static RSAPublicKey key(String path) throws GeneralSecurityException {
        try {
            return parsePublicKey(Files.readString(Path.of(path)));
        } catch (IOException e) {
            throw new GeneralSecurityException(path + " cannot be read (" + e.getClass().getSimpleName() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new GeneralSecurityException(path + ": " + e.getMessage(), e);
        }
    }

    private static int usage(String problem) {
        System.err.println("EntitlementVerifier: " + problem);
        System.err.println(USAGE);
        return 2;
    }
}
