/**
 * One Metering API call, start to finish. THE evaluation order lives here and only here:
 *
 *   1. operation   `x-amz-target` + JSON 1.1 content type      -> UnknownOperationException
 *   2. auth        SigV4 (key, scope, signed headers, clock skew, payload hash, signature), then
 *                  the scope's region vs the endpoint's region, named per operation:
 *                  RegisterUsage InvalidRegionException, MeterUsage InvalidEndpointRegionException,
 *                  BatchMeterUsage/ResolveCustomer InvalidSignatureException ("scoped to a valid region")
 *   3. dispatch    operation implemented here?                 -> UnknownOperationException
 *   4. input       JSON types, then model constraints          -> SerializationException, ValidationException
 *   5. rate limit  token bucket per operation and account       -> ThrottlingException "Rate exceeded"
 *   -- steps 6-8 only for operations in scenario.faultOperations (null = all) --
 *   6. latency     scenario.latencyMs of real time
 *   7. throttle    scenario.throttle > 0 (decrements)          -> ThrottlingException
 *   8. fault       scenario.internalError > 0 (decrements)     -> 500 InternalServiceErrorException
 *   9. operation   its own checks: register-usage.ts, meter-usage.ts, batch-meter-usage.ts,
 *                  resolve-customer.ts (the mode applies there, also only per faultOperations)
 *
 * Rate limiting comes after validation because AWS counts requests it has accepted for an operation;
 * injected faults come after the rate limit so a throttled burst still consumes quota, as on AWS.
 * Every call, whatever its outcome, is counted and kept in the recent-calls list.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, MESSAGES } from './errors.js';
import { isMeteringOperation, operationTable } from './operations.js';
import type { ApiDeps } from './operations.js';
import { faultsApplyTo } from './scenario.js';
import { verifySigV4 } from './sigv4.js';
import type { SigV4Identity, WireRequest } from './sigv4.js';
import { readInput } from './validate.js';

export const SIGNING_NAME = 'aws-marketplace';
export const TARGET_PREFIX = 'AWSMPMeteringService.';
const JSON_11 = 'application/x-amz-json-1.1';

/** An HTTP answer of the emulator, API or admin: status, headers, body. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

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

function operationFrom(wire: WireRequest): string | undefined {
  const target = wire.headers['x-amz-target']?.[0];
  const contentType = wire.headers['content-type']?.[0]?.split(';')[0]?.trim().toLowerCase();
  if (target === undefined || !target.startsWith(TARGET_PREFIX) || contentType !== JSON_11) return undefined;
  return target.slice(TARGET_PREFIX.length);
}

export async function handleApiCall(wire: WireRequest, deps: ApiDeps): Promise<Answer> {
  const { store, limiter, config, logger } = deps;
  const requestId = randomUUID();
  const opName = operationFrom(wire);
  let identity: SigV4Identity | undefined;
  let status = 200;
  let outcome = 'success';
  let body: string;
  try {
    if (opName === undefined) throw new ApiError('UnknownOperationException', 'The requested operation is not recognized by the service.');
    const operation = isMeteringOperation(opName) ? operationTable[opName] : undefined;
    identity = verifySigV4(wire, {
      service: SIGNING_NAME,
      region: config.region,
      now: deps.now(),
      lookup: deps.lookupCredential,
      ...(operation?.regionError !== undefined ? { regionError: operation.regionError } : {}),
    });
    if (operation === undefined || !isMeteringOperation(opName)) throw new ApiError('UnknownOperationException', `Operation ${opName} is not supported by this emulator.`);
    const input = readInput(operation.input, wire.body);
    const scenario = store.scenario();
    // One bucket per operation and account: each operation has its own quota on AWS.
    if (!limiter.take(`${opName}/${identity.credential.accountId}`, operation.rateLimit(scenario))) throw new ApiError('ThrottlingException', MESSAGES.rateExceeded);
    const faultsApply = faultsApplyTo(scenario, opName);
    const { latencyMs } = scenario;
    if (faultsApply && latencyMs > 0) {
      logger.debug({ requestId, latencyMs }, 'delaying answer');
      await sleep(latencyMs, undefined, { signal: deps.signal });
    }
    if (faultsApply && store.consume('throttle')) throw new ApiError('ThrottlingException', MESSAGES.rateExceeded);
    if (faultsApply && store.consume('internalError')) throw new ApiError('InternalServiceErrorException', MESSAGES.internal);
    const call = { operation: opName, input, identity, caller: callerIdentity(identity), scenario: store.scenario(), faultsApply, deps };
    const result = await operation.run(call);
    body = JSON.stringify(result);
  } catch (err) {
    if (deps.signal.aborted) throw err; // closing: the server drops the connection
    const apiError =
      err instanceof ApiError ? err : new ApiError('InternalServiceErrorException', MESSAGES.internal);
    if (!(err instanceof ApiError)) logger.error({ err, requestId }, 'emulator bug: unexpected error while answering');
    status = apiError.status;
    outcome = apiError.code;
    body = apiError.body();
  }

  const sent = peek(wire.body);
  store.record({
    time: deps.now().toISOString(),
    requestId,
    operation: opName !== undefined && isMeteringOperation(opName) ? opName : 'unknown',
    outcome,
    caller: identity?.credential.accessKeyId ?? null,
    productCode: sent.productCode,
    nonce: sent.nonce,
    signedHeaders: identity?.signedHeaders ?? [],
  });
  logger.info({ requestId, operation: opName ?? null, outcome, caller: identity?.credential.accessKeyId ?? null }, 'metering call');

  const headers: Record<string, string> = { 'content-type': JSON_11, 'x-amzn-requestid': requestId };
  if (outcome !== 'success') headers['x-amzn-errortype'] = outcome;
  return { status, headers, body };
}
