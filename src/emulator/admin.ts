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
}

const json = jsonAnswer;

type Route = { readonly method: string; readonly handle: (body: Buffer, deps: AdminDeps) => Answer };

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

const routes: Readonly<Record<string, Route>> = {
  state: { method: 'GET', handle: (_b, d) => json(200, d.store.state()) },
  scenario: { method: 'PUT', handle: putScenario },
  reset: {
    method: 'POST',
    handle: (_b, d) => {
      d.reset();
      return json(200, d.store.state());
    },
  },
  'public-key': {
    method: 'GET',
    handle: (_b, d) => ({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: d.publicKeyPem }),
  },
  calls: { method: 'GET', handle: (_b, d) => json(200, { calls: d.store.recentCalls() }) },
  records: { method: 'GET', handle: (_b, d) => json(200, d.store.records.view()) },
  'registration-tokens': { method: 'POST', handle: postRegistrationToken },
};

const isJson = (contentType: string | undefined): boolean => contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';

export function handleAdmin(method: string, path: string, contentType: string | undefined, body: Buffer, deps: AdminDeps): Answer {
  const name = path.slice(ADMIN_PREFIX.length);
  const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
  if (route === undefined) {
    const known = Object.entries(routes).map(([n, r]) => `${r.method} ${ADMIN_PREFIX}${n}`);
    return json(404, { error: `no admin endpoint ${path}`, endpoints: known });
  }
  if (method !== route.method) return json(405, { error: `${path} accepts ${route.method} only` }, { allow: route.method });
  if (method !== 'GET' && !isJson(contentType)) {
    return json(415, {
      error: `${method} ${path} needs the header content-type: application/json (so that no web page can send it without a CORS preflight, which the emulator never grants)`,
    });
  }
  return route.handle(body, deps);
}
