/**
 * RegisterUsage's own logic, run after the common pipeline in api.ts (auth, validation, rate limit,
 * latency, injected faults) has let the call through. Its steps, in order:
 *   1. configured product codes and key versions (AWS cannot decide entitlement for a product it does
 *      not know, and a misconfigured call must not count as a pod's first call);
 *   2. the scenario's mode; entitlement denials only on a caller's first call, as AWS documents;
 *   3. the token (possibly a deliberately bad one) and PublicKeyRotationTimestamp.
 */
import { meteringError, modelError } from './errors.js';
import { admitCaller, modeFailure } from './modes.js';
import type { ApiOperation, OperationCall } from '../service.js';
import { REGISTER_USAGE_INPUT } from './shapes.js';

export const registerUsage: ApiOperation = {
  input: REGISTER_USAGE_INPUT,
  rateLimit: (scenario) => scenario.rateLimit,
  regionError: (signedFor, serves) =>
    meteringError(
      'InvalidRegionException',
      `The request was signed for region '${signedFor}' but this endpoint serves '${serves}'. Call RegisterUsage in the region the task or pod runs in.`,
    ),

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const { config, minter, now } = call.deps;
    const productCode = call.input['ProductCode'] as string;
    const publicKeyVersion = call.input['PublicKeyVersion'] as number;
    const nonce = call.input['Nonce'] as string | undefined;

    if (config.productCodes !== null && !config.productCodes.has(productCode)) throw modelError('InvalidProductCodeException');
    if (!config.publicKeyVersions.has(publicKeyVersion)) throw modelError('InvalidPublicKeyVersionException');
    const failure = modeFailure(call);
    if (failure !== undefined) throw failure;
    admitCaller(call);

    const iat = Math.floor(now().getTime() / 1000);
    // badToken is RegisterUsage's own defect, so it follows faultOperations like the mode does.
    const signature = await minter.mint({ productCode, publicKeyVersion, nonce, iat }, call.faultsApply ? call.scenario.badToken : null);
    const { rotationTimestamp } = call.scenario;
    return rotationTimestamp === null ? { Signature: signature } : { Signature: signature, PublicKeyRotationTimestamp: rotationTimestamp };
  },
};
