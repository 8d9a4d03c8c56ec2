/**
 * The scenario's mode, applied per operation (the table is in scenario.ts). Split in two because
 * operations ask at different points: the every-call failures come with the configuration checks,
 * the first-call-only entitlement denials once the request itself is known to be sound, so a
 * misconfigured or malformed call never counts as a task's or pod's first call.
 */
import { modelError } from './errors.js';
import type { ApiError } from '../errors.js';
import type { OperationCall } from '../service.js';

/** The error every call of this operation gets in the current mode, if any. */
export function modeFailure(call: OperationCall): ApiError | undefined {
  if (!call.faultsApply) return undefined;
  const op = call.operation;
  switch (call.scenario.mode) {
    case 'entitled':
    case 'not-entitled':
    case 'platform-not-supported':
      return undefined;
    case 'invalid-product-code':
      return op === 'ResolveCustomer' ? undefined : modelError('InvalidProductCodeException');
    case 'invalid-region':
      // The same fault, named per operation: MeterUsage's model calls it InvalidEndpointRegionException.
      if (op === 'RegisterUsage') return modelError('InvalidRegionException');
      return op === 'MeterUsage' ? modelError('InvalidEndpointRegionException') : undefined;
    case 'invalid-public-key-version':
      return op === 'RegisterUsage' ? modelError('InvalidPublicKeyVersionException') : undefined;
    case 'disabled-api':
      return modelError('DisabledApiException');
  }
}

/**
 * Decides a caller's first call (RegisterUsage or MeterUsage, whichever comes first) and remembers the
 * caller. Later calls are admitted whatever the mode, like a running task after its customer unsubscribes.
 */
export function admitCaller(call: OperationCall): void {
  const { callers } = call.deps.store;
  const firstCall = !callers.has(call.caller);
  callers.add(call.caller);
  if (!firstCall || !call.faultsApply) return;
  if (call.scenario.mode === 'not-entitled') throw modelError('CustomerNotEntitledException');
  if (call.scenario.mode === 'platform-not-supported' && call.operation === 'RegisterUsage') throw modelError('PlatformNotSupportedException');
}
