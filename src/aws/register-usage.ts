import { randomBytes } from 'node:crypto';
import { RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import type { OutcomeCode } from '../entitlement/outcomes.js';
import type { MeteringClient } from './clients.js';
import { malformedResponse } from './errors.js';
import { retryWithBackoff, type AttemptReport, type RetryDeps } from './retry.js';

export type { AttemptReport };

/** RegisterUsage with a fresh nonce per attempt, retried with `retryWithBackoff` until a deadline. */


export type RegisterResult =
  | {
      readonly kind: 'registered';
      readonly signature: string;
      readonly nonce: string;
      readonly publicKeyRotationTimestamp: Date | undefined;
      readonly attempts: number;
    }
  | {
      readonly kind: 'failed';
      readonly code: OutcomeCode;
      readonly awsError: string | undefined;
      readonly requestId: string | undefined;
      readonly detail: string;
      readonly attempts: number;
    }
  | { readonly kind: 'aborted'; readonly attempts: number };

export interface RegisterDeps extends RetryDeps {
  readonly client: MeteringClient;
  readonly onAttempt?: (report: AttemptReport) => void;
}

export async function registerWithRetry(
  request: { productCode: string; publicKeyVersion: number },
  deps: RegisterDeps,
): Promise<RegisterResult> {
  const result = await retryWithBackoff(
    async (signal) => {
      const nonce = randomBytes(24).toString('base64url');
      const out = await deps.client.send(
        new RegisterUsageCommand({ ProductCode: request.productCode, PublicKeyVersion: request.publicKeyVersion, Nonce: nonce }),
        { abortSignal: signal },
      );
      if (typeof out.Signature !== 'string' || out.Signature === '') {
        // A 2xx without a token: classifyError treats an unreadable 2xx as a transport fault, retried.
        throw malformedResponse('the response has no Signature', out.$metadata);
      }
      const rotation = out.PublicKeyRotationTimestamp;
      // The SDK turns an epoch outside Date's range (1e20, -1e13) into an Invalid Date: not a time at all.
      if (rotation !== undefined && !Number.isFinite(rotation.getTime())) {
        throw malformedResponse('the response has a PublicKeyRotationTimestamp that is not a representable time', out.$metadata);
      }
      return { signature: out.Signature, nonce, publicKeyRotationTimestamp: rotation };
    },
    deps,
    deps.onAttempt === undefined
      ? undefined
      : (a) =>
          deps.onAttempt?.({
            attempt: a.attempt,
            code: a.failure?.code ?? 'ENTITLED',
            awsError: a.failure?.awsError,
            detail: a.failure?.detail,
            durationMs: a.durationMs,
            nextDelayMs: a.nextDelayMs,
          }),
  );
  return result.kind === 'done' ? { kind: 'registered', ...result.value, attempts: result.attempts } : result;
}
