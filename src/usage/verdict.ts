import { attemptTimeout, classifyError } from '../aws/errors.js';
import { OUTCOMES } from '../entitlement/outcomes.js';

/**
 * What an answer to MeterUsage means for the record sent: sent, retried (and whether AWS may have
 * processed the attempt: an ambiguous one makes a later refusal unreconciled, never carried), refused
 * without recording it, or an idempotency conflict. The error itself is classified by the one
 * classifier (aws/errors.ts); this only says what the forwarder does with each class. See forwarder.ts.
 */

export type Verdict =
  | { kind: 'sent'; recordId: string }
  | { kind: 'retry'; throttled: boolean; ambiguous: boolean; why: string }
  | { kind: 'refused'; awsError: string; why: string; alwaysCarry: boolean }
  | { kind: 'conflict'; awsError: string; why: string };

export function judge(err: unknown, attemptTimedOut: boolean, attemptTimeoutMs = 0): Verdict {
  const c = classifyError(attemptTimedOut ? attemptTimeout(attemptTimeoutMs) : err);
  // The detail is scrubbed already: AWS's messages can quote the signed request, session token included.
  const why = `${c.awsError ?? c.code}: ${c.detail}`;
  const ambiguous = c.delivery === 'unknown';
  if (c.code === 'THROTTLED') return { kind: 'retry', throttled: true, ambiguous, why };
  // Transient trouble, and credentials that could not be resolved this time (an IRSA token being
  // rotated): the same record is tried again. Metering keeps going for as long as the pod runs.
  if (OUTCOMES[c.code].retryable || c.code === 'CREDENTIALS_UNAVAILABLE') return { kind: 'retry', throttled: false, ambiguous, why };
  const awsError = c.awsError ?? c.code;
  if (awsError === 'IdempotencyConflictException') return { kind: 'conflict', awsError, why };
  // Another record already holds this hour: certainly not this one (an identical resend would be answered idempotently).
  return { kind: 'refused', awsError, why, alwaysCarry: awsError === 'DuplicateRequestException' };
}
