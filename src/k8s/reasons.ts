import { OUTCOMES, type OutcomeCode } from '../entitlement/outcomes.js';
import type { Snapshot } from '../entitlement/status.js';

/**
 * What each outcome looks like to `kubectl describe pod` and `kubectl get pod -o yaml`: the Event reason
 * and type, and the pod condition a vendor can list under `readinessGates`. Pure functions of a
 * snapshot, so the whole vocabulary is testable without an API server.
 */

export const CONDITION_TYPE = 'marketplace.aws/entitled';

/** Kubernetes caps an Event's message (`note`) at 1024 bytes; conditions get the same cap to stay readable. */
export const MESSAGE_LIMIT_BYTES = 1024;

/**
 * One CamelCase reason per outcome, shared by Events and the condition. A `Record` over every code, so
 * adding an outcome to outcomes.ts does not compile until it has a reason here.
 */
export const REASONS = {
  // Not an outcome: the state before RegisterUsage answers. It only ever appears on the condition.
  REGISTERING: 'Registering',
  ENTITLED: 'Entitled',
  CUSTOMER_NOT_ENTITLED: 'NotEntitled',
  PLATFORM_NOT_SUPPORTED: 'PlatformNotSupported',
  INVALID_PRODUCT_CODE: 'Misconfigured',
  INVALID_PUBLIC_KEY_VERSION: 'Misconfigured',
  INVALID_REGION: 'Misconfigured',
  ACCESS_DENIED: 'Misconfigured',
  CREDENTIALS_REJECTED: 'Misconfigured',
  CREDENTIALS_UNAVAILABLE: 'Misconfigured',
  REGION_UNRESOLVED: 'Misconfigured',
  REQUEST_INVALID: 'Misconfigured',
  API_DISABLED: 'RegistrationFailed',
  DEADLINE_EXCEEDED: 'RegistrationFailed',
  UNEXPECTED_ERROR: 'RegistrationFailed',
  USAGE_DIMENSION_INVALID: 'Misconfigured',
  METERING_DRY_RUN_FAILED: 'Misconfigured',
  USAGE_UNAVAILABLE: 'UsageUnavailable',
  // Registration worked; the shared volume did not. A reason of its own so nobody hunts an AWS problem.
  ENTITLEMENT_WRITE_FAILED: 'EntitlementWriteFailed',
  // Not AWS's answer either: what is on the volume cannot be trusted.
  DENIAL_RECORD_UNREADABLE: 'DenialRecordUnreadable',
  // Contract products (License Manager).
  NO_LICENSE: 'NoLicense',
  LICENSE_EXPIRED: 'LicenseExpired',
  LICENSE_INACTIVE: 'LicenseInactive',
  // Still entitled on the last good license: the Warning the buyer needs before the grace runs out.
  LICENSE_STALE: 'LicenseNotRefreshed',
  LICENSE_CHECK_FAILED: 'LicenseCheckFailed',
  LICENSE_ACCESS_DENIED: 'Misconfigured',
  LICENSE_REQUEST_INVALID: 'Misconfigured',
  LICENSE_REDIRECTED: 'Misconfigured',
  LICENSE_TOKEN_UNREADABLE: 'Misconfigured',
  LICENSE_TOKEN_REJECTED: 'Misconfigured',
  LICENSE_ROLE_REJECTED: 'Misconfigured',
  // A token that does not verify is not "the customer is not subscribed": the fix is the key configuration.
  TOKEN_INVALID: 'TokenRejected',
  TOKEN_MISMATCH: 'TokenRejected',
  THROTTLED: 'Throttled',
  SERVICE_UNAVAILABLE: 'RetryingRegistration',
  NETWORK_ERROR: 'RetryingRegistration',
  TIMEOUT: 'RetryingRegistration',
} as const satisfies Record<OutcomeCode, string>;

export const KEY_ROTATION_REASON = 'KeyRotationRequired';

export type EventType = 'Normal' | 'Warning';

export interface PodEvent {
  readonly reason: string;
  readonly type: EventType;
  readonly message: string;
}

export interface PodCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** True for codes the sidecar retries: their events are rate-limited, since every attempt is a snapshot. */
export function isRetrying(code: OutcomeCode): boolean {
  return OUTCOMES[code].retryable;
}

/** The Events one snapshot produces: none while registering, one per outcome, plus one when the key must rotate. */
export function eventsFor(snapshot: Snapshot): PodEvent[] {
  const events: PodEvent[] = [];
  if (snapshot.code !== 'REGISTERING') {
    events.push({
      reason: REASONS[snapshot.code],
      // Anything short of a verified, current entitlement deserves a Warning (a stale license still entitles).
      type: snapshot.code === 'ENTITLED' ? 'Normal' : 'Warning',
      message: operatorMessage(snapshot),
    });
  }
  if (snapshot.publicKeyRotationTimestamp !== undefined) {
    const e = snapshot.entitlement;
    const version = e !== undefined && e.source === 'register-usage' ? e.publicKeyVersion : undefined;
    events.push({
      reason: KEY_ROTATION_REASON,
      type: 'Warning',
      message: truncateBytes(
        `AWS reports that public key version ${version ?? '(unknown)'} expired at ${snapshot.publicKeyRotationTimestamp}. ` +
          'Action: the seller must publish a new key version and ship it as MARKETPLACE_PUBLIC_KEY_VERSION and MARKETPLACE_PUBLIC_KEY(_FILE); ' +
          'this pod is still entitled.',
        MESSAGE_LIMIT_BYTES,
      ),
    });
  }
  return events;
}

export function conditionFor(snapshot: Snapshot): PodCondition {
  return {
    status: snapshot.status === 'entitled' ? 'True' : 'False',
    reason: REASONS[snapshot.code],
    message: operatorMessage(snapshot),
  };
}

/**
 * "CODE: what happened. Action: what to do". Only the "what happened" part is shortened to fit the cap:
 * it carries AWS's text and can be long, while the action is the part the operator came for.
 */
export function operatorMessage(snapshot: Pick<Snapshot, 'code' | 'message' | 'action'>): string {
  const head = `${snapshot.code}: `;
  const tail = `${/[.!?]$/.test(snapshot.message) ? '' : '.'} Action: ${snapshot.action}`;
  const room = MESSAGE_LIMIT_BYTES - Buffer.byteLength(head) - Buffer.byteLength(tail);
  if (room < 16) return truncateBytes(`${head}Action: ${snapshot.action}`, MESSAGE_LIMIT_BYTES);
  return `${head}${truncateBytes(snapshot.message, room)}${tail}`;
}

/** Cuts a string to at most `limit` UTF-8 bytes on a character boundary, marking the cut with an ellipsis. */
export function truncateBytes(text: string, limit: number): string {
  if (Buffer.byteLength(text) <= limit) return text;
  const ellipsis = '…';
  let budget = limit - Buffer.byteLength(ellipsis);
  let out = '';
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (size > budget) break;
    out += ch;
    budget -= size;
  }
  return out + ellipsis;
}
