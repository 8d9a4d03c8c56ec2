import { unqualifiedErrorName } from '../outcomes.js';
import { scrubSecrets } from '../scrub.js';

/**
 * What an answer to MeterUsage means for the record sent: sent, retried (and whether AWS may have
 * processed the attempt: an ambiguous one makes a later refusal unreconciled, never carried), refused
 * without recording it, or an idempotency conflict. See forwarder.ts for what is done with each.
 */

export type Verdict =
  | { kind: 'sent'; recordId: string }
  | { kind: 'retry'; throttled: boolean; ambiguous: boolean; why: string }
  | { kind: 'refused'; awsError: string; why: string; alwaysCarry: boolean }
  | { kind: 'conflict'; awsError: string; why: string };

/** Errors after which AWS has certainly not processed the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

export function judge(err: unknown, attemptTimedOut: boolean): Verdict {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = unqualifiedErrorName(e.name ?? '');
  // AWS's messages can quote the signed request, session token included.
  const why = scrubSecrets(`${name || e.code || 'Error'}: ${e.message ?? String(err)}`);
  if (attemptTimedOut || name === 'TimeoutError') return { kind: 'retry', throttled: false, ambiguous: true, why };
  if (status === undefined) {
    if (name === 'CredentialsProviderError') return { kind: 'retry', throttled: false, ambiguous: false, why };
    return { kind: 'retry', throttled: false, ambiguous: !NOT_SENT_CODES.has(e.code ?? ''), why };
  }
  if (name === 'ThrottlingException') return { kind: 'retry', throttled: true, ambiguous: false, why };
  if (status >= 500 || name === 'InternalServiceErrorException') return { kind: 'retry', throttled: false, ambiguous: true, why };
  if (status >= 200 && status < 300) return { kind: 'retry', throttled: false, ambiguous: true, why: `unreadable answer: ${why}` };
  if (name === 'IdempotencyConflictException') return { kind: 'conflict', awsError: name, why };
  // Another record already holds this hour: certainly not this one (an identical resend would be answered idempotently).
  return { kind: 'refused', awsError: name, why, alwaysCarry: name === 'DuplicateRequestException' };
}
