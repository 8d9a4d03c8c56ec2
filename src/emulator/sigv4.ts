/**
 * Server-side AWS Signature Version 4 verification, written by hand on node:crypto.
 *
 * Why by hand: every SigV4 library (the SDK's @smithy/signature-v4, botocore, aws4) only *signs*.
 * A verifier must rebuild the canonical request from what arrived on the wire (raw path, raw query,
 * header values as received), which those libraries never do. Checked against AWS's published
 * test-suite vectors and against the real SDK v3, botocore (AWS CLI v2) and boto3 in the tests.
 *
 * As strict as AWS, and where AWS's rule is not public, stricter: every header that could change who
 * the caller is or what the call does must be signed (checkHeaderCoverage), and the payload hash is
 * always computed from the body received, never taken from the client (payloadHash).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { MESSAGES, protocolError, type ApiError } from './errors.js';

export interface SigV4Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
  /** Who the credential is, for IAM-style messages (an assumed role's ARN); default: the access key as a user. */
  readonly principalArn?: string;
  /**
   * Temporary credentials (STS): the session token every request must carry in x-amz-security-token,
   * and when they expire (epoch ms). Long-term keys take any session token, or none.
   */
  readonly session?: { readonly token: string; readonly expiresAt: number };
}

/** The request as received: raw target (path + query) and header values as Node's `headersDistinct` gives them. */
export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly body: Buffer;
}

export interface SigV4Options {
  readonly service: string;
  readonly region: string;
  readonly now: Date;
  readonly lookup: (accessKeyId: string) => SigV4Credential | undefined;
  /** The answer to a valid signature scoped to another region; default InvalidSignatureException, as most services answer. */
  readonly regionError?: (signedFor: string, serves: string) => ApiError;
}

export interface SigV4Identity {
  readonly credential: SigV4Credential;
  readonly sessionToken: string | null;
  readonly signedHeaders: readonly string[];
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 5 * 60_000;

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 requires: everything but unreserved characters, `%XX` uppercase. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Non-S3 services normalise dot segments and encode the already-encoded wire path once more. */
function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  const trailing = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${segments.map(rfc3986).join('/')}${trailing}`;
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq === -1 ? p : p.slice(0, eq);
      const v = eq === -1 ? '' : p.slice(eq + 1);
      return [rfc3986(safeDecode(k)), rfc3986(safeDecode(v))] as const;
    });
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export function canonicalRequest(
  req: Omit<WireRequest, 'body'>,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  const q = req.url.indexOf('?');
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const rawQuery = q === -1 ? '' : req.url.slice(q + 1);
  const headerLines = signedHeaders.map((name) => {
    const values = (req.headers[name] ?? []).map((v) => v.trim().replace(/\s+/g, ' '));
    return `${name}:${values.join(',')}\n`;
  });
  return [req.method, canonicalPath(rawPath), canonicalQuery(rawQuery), headerLines.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function signature(secret: string, scope: readonly string[], toSign: string): string {
  const [date = '', region = '', service = ''] = scope;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/** `20150830T123600Z`, the ISO 8601 basic format SigV4 uses. */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function parseAuthorization(header: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return params;
}

const first = (req: WireRequest, name: string): string | undefined => req.headers[name]?.[0];


/** What an AWS endpoint answers to a signature scoped to another region when the operation models no region error. */
export function wrongRegionSignature(signedFor: string): ApiError {
  return protocolError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${signedFor}'. `);
}

/**
 * Headers the emulator reads that decide who the caller is or what the call does. Each may appear once:
 * the emulator reads one value, while the canonical request joins repeated values with commas (two
 * headers 'A' and 'B' sign the same as one 'A,B'), so which value was meant would not be covered.
 */
const SINGLE_HEADERS = ['authorization', 'host', 'content-type', 'date', 'x-amz-date', 'x-amz-target', 'x-amz-security-token', 'x-amz-content-sha256'] as const;

/**
 * A header that must be covered by the signature whenever it is present: `host` and `content-type` (the
 * JSON 1.1 protocol reads the operation from them) and every `x-amz-*` header (`x-amz-target` is the
 * operation, `x-amz-security-token` the caller). AWS's SigV4 documentation asks for every x-amz-* header
 * the request carries to be signed; S3 enforces it. Anything else (user-agent, amz-sdk-*, content-length,
 * trace ids) changes nothing here: the body is hashed as received and never read by its declared length.
 */
const mustBeSigned = (name: string): boolean => name === 'host' || name === 'content-type' || name.startsWith('x-amz-');

function checkHeaderCoverage(req: WireRequest, signed: ReadonlySet<string>): void {
  for (const name of SINGLE_HEADERS) {
    const count = req.headers[name]?.length ?? 0;
    if (count > 1) throw protocolError('InvalidSignatureException', `The request has ${count} '${name}' headers; it must have at most one.`);
  }
  // AWS's wording for a request without a signed Host (Coral services; dynalite and scratchstack record it as a signature error).
  if (!signed.has('host')) throw protocolError('InvalidSignatureException', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  const unsigned = Object.keys(req.headers).filter((name) => mustBeSigned(name) && !signed.has(name)).sort();
  // S3's words for the same refusal (AccessDenied, HeadersNotSigned), with this protocol's error code.
  if (unsigned.length > 0) throw protocolError('InvalidSignatureException', `There were headers present in the request which were not signed: ${unsigned.join(', ')}.`);
}

/**
 * The payload hash of the canonical request is always the SHA-256 of the bytes received: the Metering
 * service hashes the payload itself, so `UNSIGNED-PAYLOAD`, a streaming marker or another body's hash in
 * `x-amz-content-sha256` is refused rather than signed over.
 */
function payloadHash(req: WireRequest): string {
  const bodyHash = sha256Hex(req.body);
  const declared = first(req, 'x-amz-content-sha256');
  if (declared !== undefined && declared !== bodyHash) {
    throw protocolError(
      'InvalidSignatureException',
      `The provided 'x-amz-content-sha256' header does not match what was computed. This service signs the payload: the header may only carry the lowercase hex SHA-256 of the body (${bodyHash}), got '${declared}'.`,
    );
  }
  return bodyHash;
}

/**
 * Temporary credentials are good only with their own session token (absent or another one: the key is
 * not recognised, as AWS answers), and only until they expire (ExpiredTokenException, 403).
 */
function checkSession(req: WireRequest, session: NonNullable<SigV4Credential['session']>, now: Date): void {
  const sent = Buffer.from(first(req, 'x-amz-security-token') ?? '', 'utf8');
  const expected = Buffer.from(session.token, 'utf8');
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw protocolError('UnrecognizedClientException', MESSAGES.unrecognizedClient);
  if (now.getTime() >= session.expiresAt) throw protocolError('ExpiredTokenException', MESSAGES.expiredToken);
}

/** Verifies the request's signature or throws the ApiError AWS would answer. Region mismatch is checked last. */
export function verifySigV4(req: WireRequest, opts: SigV4Options): SigV4Identity {
  const auth = first(req, 'authorization');
  if (auth === undefined || auth.trim() === '') throw protocolError('MissingAuthenticationTokenException', MESSAGES.missingToken);
  if (!auth.startsWith(`${ALGORITHM} `)) {
    throw protocolError('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${auth.split(' ')[0] ?? ''}'.`);
  }
  const params = parseAuthorization(auth);
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((p) => !params.get(p));
  if (missing.length > 0) {
    const why = missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' ');
    throw protocolError('IncompleteSignatureException', `${why} Authorization=${auth}`);
  }
  const credentialParam = params.get('Credential') ?? '';
  const scope = credentialParam.split('/');
  if (scope.length !== 5) {
    throw protocolError(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credentialParam}'`,
    );
  }
  const [accessKeyId = '', scopeDate = '', scopeRegion = '', scopeService = '', terminator = ''] = scope;
  const credential = opts.lookup(accessKeyId);
  if (credential === undefined) throw protocolError('UnrecognizedClientException', MESSAGES.unrecognizedClient);
  if (credential.session !== undefined) checkSession(req, credential.session, opts.now);
  if (terminator !== 'aws4_request') {
    throw protocolError('InvalidSignatureException', `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`);
  }
  if (scopeService !== opts.service) {
    throw protocolError('InvalidSignatureException', `Credential should be scoped to correct service: '${opts.service}'. `);
  }
  const signedHeaders = (params.get('SignedHeaders') ?? '').split(';');
  checkHeaderCoverage(req, new Set(signedHeaders));

  // x-amz-date wins; the HTTP Date header is the documented fallback.
  const rawDate = first(req, 'x-amz-date');
  const httpDate = first(req, 'date');
  const requestTime = rawDate !== undefined ? parseAmzDate(rawDate) : httpDate !== undefined ? new Date(httpDate) : undefined;
  if (requestTime === undefined || Number.isNaN(requestTime.getTime())) {
    throw protocolError(
      'IncompleteSignatureException',
      rawDate ?? httpDate
        ? `Date must be in ISO-8601 'basic format'. Got '${rawDate ?? httpDate}'.`
        : `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${auth}`,
    );
  }
  const requestStamp = rawDate ?? amzDate(requestTime);
  if (scopeDate !== requestStamp.slice(0, 8)) {
    throw protocolError(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${requestStamp.slice(0, 8)}', from '${requestStamp}'.`,
    );
  }
  const skew = requestTime.getTime() - opts.now.getTime();
  if (skew < -MAX_SKEW_MS) {
    const limit = amzDate(new Date(opts.now.getTime() - MAX_SKEW_MS));
    throw protocolError('InvalidSignatureException', `Signature expired: ${requestStamp} is now earlier than ${limit} (${amzDate(opts.now)} - 5 min.)`);
  }
  if (skew > MAX_SKEW_MS) {
    const limit = amzDate(new Date(opts.now.getTime() + MAX_SKEW_MS));
    throw protocolError('InvalidSignatureException', `Signature not yet current: ${requestStamp} is still later than ${limit} (${amzDate(opts.now)} + 5 min.)`);
  }

  const canonical = canonicalRequest(req, signedHeaders, payloadHash(req));
  const scopeString = scope.slice(1).join('/');
  const toSign = stringToSign(requestStamp, scopeString, canonical);
  const expected = Buffer.from(signature(credential.secretAccessKey, scope.slice(1), toSign), 'utf8');
  const provided = Buffer.from(params.get('Signature') ?? '', 'utf8');
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    // AWS includes both strings so a client author can see where the signatures diverge.
    const detail = `\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'${toSign}'\n`;
    throw protocolError('InvalidSignatureException', MESSAGES.signatureMismatch + detail);
  }
  if (scopeRegion !== opts.region) throw (opts.regionError ?? wrongRegionSignature)(scopeRegion, opts.region);
  const sessionToken = first(req, 'x-amz-security-token') ?? null;
  return { credential, sessionToken, signedHeaders };
}
