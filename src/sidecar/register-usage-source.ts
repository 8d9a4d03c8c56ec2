import type { KeyObject } from 'node:crypto';
import { registerWithRetry } from '../aws/register-usage.js';
import { aborted, ok, outcome, type EntitlementSource } from './source.js';

/**
 * Entitlement for hourly-priced products: RegisterUsage with the product code, the key version and a
 * fresh nonce, then the returned PS256 token verified against the product's key and the request sent.
 * AWS throws its entitlement errors only on a pod's first call, so denials are recorded. Nothing needs
 * to keep running: AWS bills running tasks and pods from the registration on.
 */

export interface RegisterUsageProduct {
  readonly productCode: string;
  readonly publicKeyVersion: number;
  readonly publicKey: KeyObject;
}

export function registerUsageSource(product: RegisterUsageProduct): EntitlementSource {
  return {
    call: 'RegisterUsage',
    product: product.productCode,
    recordsDenials: true,
    stopBudgetMs: 0,
    async acquire(ctx) {
      const calling = registerWithRetry(
        { productCode: product.productCode, publicKeyVersion: product.publicKeyVersion },
        {
          client: ctx.aws.metering(ctx.region),
          signal: ctx.signal,
          policy: ctx.policy,
          now: ctx.now,
          onAttempt: (a) => {
            ctx.metrics.record((m) => {
              m.registerAttempts.inc({ outcome: a.code });
              m.registerDuration.observe(a.durationMs / 1000);
            });
            ctx.onAttempt(a);
          },
        },
      );
      // The verifier (jose) is loaded while the request is in flight, not before it is sent: the
      // request is written before any module loaded here is evaluated.
      const verifier = import('../entitlement/token.js');
      verifier.catch(() => undefined);
      const result = await calling;
      if (result.kind === 'aborted') return aborted;
      if (result.kind === 'failed') {
        const id = result.requestId === undefined ? '' : ` (request id ${result.requestId})`;
        return outcome({ code: result.code, awsError: result.awsError, message: `RegisterUsage: ${result.awsError ?? result.code}: ${result.detail}${id}` });
      }
      ctx.mark('called');

      const { TokenVerificationError, verifyRegistrationToken } = await verifier;
      const verifiedAt = new Date(ctx.now());
      let claims;
      try {
        claims = await verifyRegistrationToken(
          result.signature,
          product.publicKey,
          { productCode: product.productCode, publicKeyVersion: product.publicKeyVersion, nonce: result.nonce },
          { now: verifiedAt },
        );
      } catch (err) {
        if (!(err instanceof TokenVerificationError)) throw err;
        return outcome({ code: err.code, message: `the RegisterUsage token was rejected (${err.reason}): ${err.message}` });
      }
      ctx.mark('verified');

      const issuedAt = claims.issuedAt?.toISOString() ?? null;
      const rotation = result.publicKeyRotationTimestamp;
      return ok({
        record: {
          source: 'register-usage',
          productCode: claims.productCode,
          publicKeyVersion: claims.publicKeyVersion,
          nonce: claims.nonce,
          signature: result.signature,
          issuedAt,
          verifiedAt: verifiedAt.toISOString(),
          publicKeyRotationTimestamp: rotation?.toISOString() ?? null,
        },
        summary: { source: 'register-usage', productCode: claims.productCode, publicKeyVersion: claims.publicKeyVersion, issuedAt, verifiedAt: verifiedAt.toISOString() },
        message: `entitled to ${claims.productCode}; token verified with key version ${claims.publicKeyVersion}`,
        verifiedAt,
        publicKeyRotation: rotation,
        attempts: result.attempts,
      });
    },
    async earlierFile(path, now) {
      try {
        const { verifyEntitlementFile } = await import('../entitlement/verify-file.js');
        const v = await verifyEntitlementFile(path, { publicKey: product.publicKey, productCode: product.productCode, publicKeyVersion: product.publicKeyVersion, now });
        return v.verifiedAt || 'an unknown time';
      } catch {
        return undefined;
      }
    },
  };
}
