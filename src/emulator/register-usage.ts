/**
 * RegisterUsage's own logic, run after the common pipeline in api.ts (auth, validation, rate limit,
 * latency, injected faults) has let the call through. Its steps, in order:
 *   1. configured product codes and key versions (AWS cannot decide entitlement for a product it does
 *      not know, and a misconfigured call must not count as a pod's first call);
 *   2. the scenario's mode; entitlement denials only on a caller's first call, as AWS documents;
 *   3. the token (possibly a deliberately bad one) and PublicKeyRotationTimestamp.
 */
import { ApiError } from './errors.js';
import type { Operation, OperationCall } from './operations.js';
import { REGISTER_USAGE_INPUT } from './validate.js';

/** The service model's documentation of each error, used as its message. */
const MESSAGE = {
  CustomerNotEntitledException: 'Exception thrown when the customer does not have a valid subscription for the product.',
  PlatformNotSupportedException:
    'AWS Marketplace does not support metering usage from the underlying platform. Currently, Amazon ECS, Amazon EKS, and AWS Fargate are supported.',
  InvalidProductCodeException: 'The product code passed does not match the product code used for publishing the product.',
  InvalidPublicKeyVersionException: 'Public Key version is invalid.',
  InvalidRegionException:
    'RegisterUsage must be called in the same AWS Region the ECS task was launched in. This prevents a container from hardcoding a Region.',
  DisabledApiException: 'The API is disabled in the Region.',
} as const;

const fail = (code: keyof typeof MESSAGE): ApiError => new ApiError(code, MESSAGE[code]);

/** Applies the mode; for the first-call-only denials it also remembers the caller. */
function decideEntitlement(call: OperationCall): void {
  const callers = call.deps.store.callers;
  const firstCall = !callers.has(call.caller);
  switch (call.scenario.mode) {
    case 'entitled':
      // A caller admitted now keeps getting tokens if the mode later turns to not-entitled,
      // like a running task after its customer unsubscribes.
      callers.add(call.caller);
      return;
    case 'not-entitled':
      callers.add(call.caller);
      if (firstCall) throw fail('CustomerNotEntitledException');
      return;
    case 'platform-not-supported':
      callers.add(call.caller);
      if (firstCall) throw fail('PlatformNotSupportedException');
      return;
    case 'invalid-product-code':
      throw fail('InvalidProductCodeException');
    case 'invalid-region':
      throw fail('InvalidRegionException');
    case 'invalid-public-key-version':
      throw fail('InvalidPublicKeyVersionException');
    case 'disabled-api':
      throw fail('DisabledApiException');
  }
}

export const registerUsage: Operation = {
  input: REGISTER_USAGE_INPUT,

  async run(call: OperationCall): Promise<Record<string, unknown>> {
    const { config, minter, now } = call.deps;
    const productCode = call.input['ProductCode'] as string;
    const publicKeyVersion = call.input['PublicKeyVersion'] as number;
    const nonce = call.input['Nonce'] as string | undefined;

    if (config.productCodes !== null && !config.productCodes.has(productCode)) throw fail('InvalidProductCodeException');
    if (!config.publicKeyVersions.has(publicKeyVersion)) throw fail('InvalidPublicKeyVersionException');
    decideEntitlement(call);

    const iat = Math.floor(now().getTime() / 1000);
    const signature = await minter.mint({ productCode, publicKeyVersion, nonce, iat }, call.scenario.badToken);
    const { rotationTimestamp } = call.scenario;
    return rotationTimestamp === null ? { Signature: signature } : { Signature: signature, PublicKeyRotationTimestamp: rotationTimestamp };
  },
};
