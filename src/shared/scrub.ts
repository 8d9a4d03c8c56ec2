/**
 * Scrubbing of text that came from AWS (or from an SDK describing what AWS said) before it reaches a
 * log line, `/healthz`, a metric or a pod Event. AWS's own error messages can carry credentials: an
 * `InvalidSignatureException` quotes the canonical request it computed, headers included, so the
 * caller's `x-amz-security-token` (the session token) appears verbatim; STS and IMDS errors can quote
 * tokens; a proxy in between may echo anything. Nothing that comes from outside is trusted to be free
 * of secrets: every such message goes through `scrubSecrets` once, where it is classified.
 */

export const REDACTED = '[redacted]';
/** Enough for any real AWS error message; the rest of an echoed request is of no use to an operator. */
export const MAX_MESSAGE_CHARS = 600;

const RULES: readonly (readonly [RegExp, string])[] = [
  // The canonical request and the string-to-sign AWS quotes on a signature mismatch: everything from
  // there on is the request itself (headers with the session token, the signature scope).
  [/(The Canonical String for this request should have been|The String-to-Sign should have been|Canonical ?Request|StringToSign)[\s\S]*/gi, `$1 ${REDACTED}`],
  // Header lines or query parameters that are credentials, in any case, with ':' or '='.
  [/(x-amz-security-token|x-amz-credential|x-amz-signature|x-aws-ec2-metadata-token|authorization)(\s*[:=]\s*)((?:AWS4-HMAC-SHA256|Bearer|Basic)\s+)?("[^"]*"|'[^']*'|[^\s,;&'"]+)/gi, `$1$2$3${REDACTED}`],
  [/\b(Credential|Signature|SignedHeaders|SessionToken|SecretAccessKey|AccessKeyId|Token|WebIdentityToken|AccessToken|LicenseToken)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&'"]+)/g, `$1$2${REDACTED}`],
  // AWS access key ids (long-term AKIA, temporary ASIA, and the other unique-id prefixes).
  [/\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{16}\b/g, REDACTED],
  // JWTs (web identity tokens, license tokens, access tokens): three base64url segments.
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Anything else shaped like a key: a long run of base64 (secret keys are 40, session tokens hundreds).
  [/[A-Za-z0-9+/]{40,}={0,2}/g, REDACTED],
];

/** Removes credentials and credential-shaped strings from a message that came from outside, and bounds its length. */
export function scrubSecrets(text: string, maxChars = MAX_MESSAGE_CHARS): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  if (out.length > maxChars) out = `${out.slice(0, maxChars)}... (${out.length - maxChars} more characters left out)`;
  return out;
}

/**
 * pino's serializer for `err`: the fields an operator needs (type, scrubbed message and stack, codes,
 * HTTP status, request id, cause), never the rest of an SDK error (`$response` holds the raw answer).
 */
export function serializeError(err: unknown, depth = 0): Record<string, unknown> | unknown {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) return typeof err === 'string' ? scrubSecrets(err) : err;
  const e = err as Error & { code?: unknown; errno?: unknown; syscall?: unknown; $metadata?: { httpStatusCode?: unknown; requestId?: unknown }; cause?: unknown };
  const out: Record<string, unknown> = { type: e.constructor?.name ?? 'Error', message: scrubSecrets(String(e.message ?? '')) };
  if (typeof e.name === 'string' && e.name !== out.type) out.name = e.name;
  if (typeof e.stack === 'string') out.stack = scrubSecrets(e.stack, 4000);
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.syscall === 'string') out.syscall = e.syscall;
  if (e.$metadata !== undefined) out.httpStatusCode = e.$metadata.httpStatusCode;
  if (e.$metadata?.requestId !== undefined) out.requestId = e.$metadata.requestId;
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}
