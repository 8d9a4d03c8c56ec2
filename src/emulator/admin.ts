/**
 * The emulator's control surface under /_emulator/: no SigV4, so a demo script, a shell or a test in
 * another language can switch scenarios with plain curl. Never part of what AWS serves.
 *
 * Every request that changes something (PUT, POST) must say `content-type: application/json`. A web
 * page can send a cross-origin POST without asking first only with a "simple" content type
 * (text/plain, a form); for JSON the browser must send a CORS preflight, which the emulator never
 * grants, so a page a developer happens to open cannot reset scenarios or mint registration tokens.
 * (The Host check against DNS rebinding is the server's, for every path: see host-check.ts.)
 */
import type { ControlResult, LicenseControl } from './license-manager/control.js';
import type { AnywhereControl } from './sts/control.js';
import { parseTokenRequest } from './metering/customers.js';
import { parseScenarioPatch } from './scenario.js';
import { jsonAnswer, type Answer } from '../shared/http.js';
import type { EmulatorStore } from './state.js';

export const ADMIN_PREFIX = '/_emulator/';

export interface AdminDeps {
  readonly store: EmulatorStore;
  readonly publicKeyPem: string;
  /** Clears counts, callers, calls, records, issued tokens, injected faults and rate-limit buckets. */
  readonly reset: () => void;
  /** null = any product code exists (a token may be issued for any). */
  readonly productCodes: ReadonlySet<string> | null;
  readonly now: () => Date;
  readonly licenses: LicenseControl;
  readonly anywhere: AnywhereControl;
  readonly licenseIssuerPublicKeyPem: string;
}

const json = jsonAnswer;

type Handler = (body: Buffer, deps: AdminDeps) => Answer;

/** The body as JSON, or undefined when it is not JSON. */
function parseJson(body: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return undefined;
  }
}

/** 200 with the value, 404 for something that does not exist, 400 listing every problem. */
function controlAnswer<T>(error: string, result: ControlResult<T>): Answer {
  if (result.ok) return json(200, result.value);
  return json(result.notFound ? 404 : 400, { error, problems: result.problems });
}

const pem = (text: string): Answer => ({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text });

function putLicense(body: Buffer, deps: AdminDeps): Answer {
  const parsed = parseJson(body);
  if (parsed === undefined) return json(400, { error: 'invalid license seed', problems: ['the body must be a JSON object (a license seed)'] });
  return controlAnswer('invalid license seed', deps.licenses.put(parsed.value));
}

function putLicenseStatus(body: Buffer, deps: AdminDeps): Answer {
  const parsed = parseJson(body);
  const o = parsed?.value;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return json(400, { error: 'invalid license status', problems: ['the body must be a JSON object {licenseArn, status}'] });
  const { licenseArn, status, ...rest } = o as Record<string, unknown>;
  const extra = Object.keys(rest).map((k) => `${k} is not a field; allowed: licenseArn, status`);
  if (extra.length > 0) return json(400, { error: 'invalid license status', problems: extra });
  return controlAnswer('invalid license status', deps.licenses.setStatus(licenseArn, status));
}

function putScenario(body: Buffer, deps: AdminDeps): Answer {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return json(400, { error: 'invalid scenario', problems: ['the body must be a JSON object (a partial scenario)'] });
  }
  const parsed = parseScenarioPatch(input);
  if (!parsed.ok) return json(400, { error: 'invalid scenario', problems: parsed.problems });
  return json(200, deps.store.setScenario(parsed.patch));
}

/** `{customerAWSAccountId, productCode, customerIdentifier?, licenseArn?, expiresInSeconds?}` -> 201 `{registrationToken, expiresAt}`. */
function postRegistrationToken(body: Buffer, deps: AdminDeps): Answer {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return json(400, { error: 'invalid registration token request', problems: ['the body must be a JSON object'] });
  }
  const parsed = parseTokenRequest(input, deps.productCodes);
  if (!parsed.ok) return json(400, { error: 'invalid registration token request', problems: parsed.problems });
  return json(201, deps.store.customers.issue(parsed.value, deps.now()));
}

/** Path (after /_emulator/) -> method -> handler. */
/** `{accountId, roleArn, expiresInSeconds?, licenseArn?, tokenProperties?}` -> 201 `{licenseToken, roleArn, expiresAt}`. */
function postLicenseToken(body: Buffer, deps: AdminDeps): Answer {
  const parsed = parseJson(body);
  if (parsed === undefined) return json(400, { error: 'invalid license token request', problems: ['the body must be a JSON object'] });
  const issued = deps.anywhere.issueLicenseToken(parsed.value);
  return issued.ok ? json(201, issued.value) : controlAnswer('invalid license token request', issued);
}

/** `{licenseToken}` -> 200 `{revoked: true}`; 404 for a token the emulator did not issue. */
function revokeLicenseToken(body: Buffer, deps: AdminDeps): Answer {
  const o = parseJson(body)?.value;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.keys(o).some((k) => k !== 'licenseToken')) {
    return json(400, { error: 'invalid revocation', problems: ['the body must be a JSON object {licenseToken}'] });
  }
  return controlAnswer('invalid revocation', deps.anywhere.revokeLicenseToken((o as Record<string, unknown>)['licenseToken']));
}

function putRole(body: Buffer, deps: AdminDeps): Answer {
  const parsed = parseJson(body);
  if (parsed === undefined) return json(400, { error: 'invalid role', problems: ['the body must be a JSON object (a role)'] });
  return controlAnswer('invalid role', deps.anywhere.putRole(parsed.value));
}

const routes: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  state: { GET: (_b, d) => json(200, d.store.state()) },
  scenario: { PUT: putScenario },
  reset: {
    POST: (_b, d) => {
      d.reset();
      return json(200, d.store.state());
    },
  },
  'public-key': { GET: (_b, d) => pem(d.publicKeyPem) },
  calls: { GET: (_b, d) => json(200, { calls: d.store.recentCalls() }) },
  records: { GET: (_b, d) => json(200, d.store.records.view()) },
  'registration-tokens': { POST: postRegistrationToken },
  licenses: { GET: (_b, d) => json(200, { licenses: d.licenses.licenses() }), PUT: putLicense },
  'licenses/status': { PUT: putLicenseStatus },
  consumptions: { GET: (_b, d) => json(200, { consumptions: d.licenses.consumptions() }) },
  'license-issuer-key': { GET: (_b, d) => pem(d.licenseIssuerPublicKeyPem) },
  'license-tokens': { POST: postLicenseToken },
  'license-tokens/revoke': { POST: revokeLicenseToken },
  roles: { GET: (_b, d) => json(200, { roles: d.anywhere.roles() }), PUT: putRole },
};

const isJson = (contentType: string | undefined): boolean => contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';

export function handleAdmin(method: string, path: string, contentType: string | undefined, body: Buffer, deps: AdminDeps): Answer {
  const name = path.slice(ADMIN_PREFIX.length);
  const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
  if (route === undefined) {
    const known = Object.entries(routes).flatMap(([n, r]) => Object.keys(r).map((m) => `${m} ${ADMIN_PREFIX}${n}`));
    return json(404, { error: `no admin endpoint ${path}`, endpoints: known });
  }
  const handle = Object.hasOwn(route, method) ? route[method] : undefined;
  if (handle === undefined) {
    const allow = Object.keys(route).join(', ');
    return json(405, { error: `${path} accepts ${Object.keys(route).join(' and ')} only` }, { allow });
  }
  if (method !== 'GET' && !isJson(contentType)) {
    return json(415, {
      error: `${method} ${path} needs the header content-type: application/json (so that no web page can send it without a CORS preflight, which the emulator never grants)`,
    });
  }
  return handle(body, deps);
}
