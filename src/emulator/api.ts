/**
 * One API call of any emulated service, start to finish. THE evaluation order lives here and only here:
 *
 *   1. operation   services.ts: JSON 1.1 + an `x-amz-target` a service has     -> UnknownOperationException
 *                  or a Query form body + an `Action` and `Version` a service has -> MissingAction, InvalidAction
 *   2. auth        SigV4 (key, scope, signed headers, clock skew, payload hash, signature), then
 *                  the scope's region vs the endpoint's region, named per operation:
 *                  RegisterUsage InvalidRegionException, MeterUsage InvalidEndpointRegionException,
 *                  the others InvalidSignatureException ("scoped to a valid region");
 *                  an operation marked `anonymous` also takes a request with no Authorization at all
 *   3. dispatch    operation implemented here?                 -> UnknownOperationException
 *   4. input       JSON types, then model constraints          -> SerializationException, ValidationException
 *                  (Query: the form read into the shape          -> ValidationError)
 *   5. rate limit  token bucket per operation and account       -> the service's throttling error
 *   -- steps 6-8 only for operations in scenario.faultOperations (null = all) --
 *   6. latency     scenario.latencyMs of real time
 *   7. throttle    scenario.throttle > 0 (decrements)          -> the service's throttling error
 *   8. fault       scenario.internalError > 0 (decrements)     -> the service's 500
 *   9. operation   its own checks: metering/*.ts, license-manager/*.ts, sts/*.ts (the mode
 *                  and authorizationErrors apply there, also only per faultOperations)
 * Answers and errors are written in the service's wire form (json-protocol.ts, query-protocol.ts).
 *
 * Rate limiting comes after validation because AWS counts requests it has accepted for an operation;
 * injected faults come after the rate limit so a throttled burst still consumes quota, as on AWS.
 * Every call, whatever its outcome, is counted and kept in the recent-calls list.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Answer } from '../shared/http.js';
import { ApiError, protocolError } from './errors.js';
import { jsonWireForm } from './json-protocol.js';
import { queryWireForm } from './query-protocol.js';
import type { ApiDeps, Service } from './service.js';
import { routeRequest } from './services.js';
import { faultsApplyTo, OPERATIONS, type OperationName } from './scenario.js';
import { verifySigV4 } from './sigv4.js';
import type { SigV4Identity, WireRequest } from './sigv4.js';
import type { WireForm } from './wire-form.js';

/** One caller = one task or pod: its access key plus its session token (each pod has its own). */
export function callerIdentity(identity: SigV4Identity): string {
  if (identity.sessionToken === null) return identity.credential.accessKeyId;
  return `${identity.credential.accessKeyId}/${createHash('sha256').update(identity.sessionToken).digest('hex').slice(0, 16)}`;
}

/** Best effort, for the calls list only: what the client sent, even if it did not validate. */
function peek(body: Buffer): { productCode: string | null; nonce: string | null } {
  try {
    const o = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    return { productCode: str(o['ProductCode']), nonce: str(o['Nonce']) };
  } catch {
    return { productCode: null, nonce: null };
  }
}

const isOperationName = (name: string): name is OperationName => (OPERATIONS as readonly string[]).includes(name);

/** The operation a service has under this name, if any. */
function operationOf(service: Service, name: string) {
  return isOperationName(name) && Object.hasOwn(service.operations, name) ? service.operations[name] : undefined;
}

/** A service's wire form; before any service is known, JSON 1.1's (what the Metering API answers). */
function wireFormOf(service: Service | undefined): WireForm {
  if (service === undefined) return jsonWireForm({ errorMessageKey: 'message' });
  return service.protocol.kind === 'query' ? queryWireForm(service.protocol) : jsonWireForm(service.protocol);
}

/** No Authorization header at all (an empty one is a malformed signature, not an anonymous call). */
const unsigned = (wire: WireRequest): boolean => wire.headers['authorization'] === undefined;

export async function handleApiCall(wire: WireRequest, deps: ApiDeps): Promise<Answer> {
  const { store, limiter, config, logger } = deps;
  const requestId = randomUUID();
  const target = routeRequest(wire);
  const opName = target?.operation;
  const form = wireFormOf(target?.service);
  let identity: SigV4Identity | null | undefined;
  let answer: Answer;
  let outcome = 'success';
  try {
    if (target === undefined) throw protocolError('UnknownOperationException', 'The requested operation is not recognized by the service.');
    if (target.error !== undefined) throw target.error;
    const { service } = target;
    const operation = operationOf(service, target.operation);
    identity =
      operation?.anonymous === true && unsigned(wire)
        ? null
        : verifySigV4(wire, {
            service: service.signingName,
            region: config.region,
            now: deps.now(),
            lookup: deps.lookupCredential,
            ...(operation?.regionError !== undefined ? { regionError: operation.regionError } : {}),
          });
    if (operation === undefined || !isOperationName(target.operation)) {
      throw protocolError('UnknownOperationException', `Operation ${target.operation} is not supported by this emulator.`);
    }
    const input = form.readInput(operation.input, wire);
    const scenario = store.scenario();
    const account = identity?.credential.accountId ?? null;
    // One bucket per operation and account: each operation has its own quota on AWS.
    if (!limiter.take(`${target.operation}/${account ?? 'anonymous'}`, operation.rateLimit(scenario))) throw service.throttled();
    const faultsApply = faultsApplyTo(scenario, target.operation);
    const { latencyMs } = scenario;
    if (faultsApply && latencyMs > 0) {
      logger.debug({ requestId, latencyMs }, 'delaying answer');
      await sleep(latencyMs, undefined, { signal: deps.signal });
    }
    if (faultsApply && store.consume('throttle')) throw service.throttled();
    if (faultsApply && store.consume('internalError')) throw service.internalError();
    const caller = identity === null ? 'anonymous' : callerIdentity(identity);
    const call = { operation: target.operation, input, identity, account, caller, scenario: store.scenario(), faultsApply, deps };
    answer = form.success(target.operation, await operation.run(call), requestId);
  } catch (err) {
    if (deps.signal.aborted) throw err; // closing: the server drops the connection
    const apiError = err instanceof ApiError ? err : (target?.service.internalError() ?? protocolError('UnknownOperationException', 'internal error'));
    if (!(err instanceof ApiError)) logger.error({ err, requestId }, 'emulator bug: unexpected error while answering');
    // Counted as the client sees it: a Query service's own name for an error.
    outcome = target?.service.protocol.kind === 'query' ? apiError.query.code : apiError.code;
    answer = form.failure(apiError, requestId);
  }

  const sent = peek(wire.body);
  store.record({
    time: deps.now().toISOString(),
    requestId,
    operation: opName !== undefined && target !== undefined && operationOf(target.service, opName) !== undefined ? opName : 'unknown',
    outcome,
    caller: identity?.credential.accessKeyId ?? null,
    productCode: sent.productCode,
    nonce: sent.nonce,
    signedHeaders: identity?.signedHeaders ?? [],
  });
  logger.info({ requestId, service: target?.service.name ?? null, operation: opName ?? null, outcome, caller: identity?.credential.accessKeyId ?? null }, 'api call');
  return answer;
}
