import { describe, expect, it } from 'vitest';
import { REASONS, conditionFor, eventsFor, operatorMessage, truncateBytes } from '../../../src/k8s/reasons.js';
import { OUTCOMES, type OutcomeCode } from '../../../src/entitlement/outcomes.js';
import { EntitlementState } from '../../../src/sidecar/state.js';

const codes = Object.keys(OUTCOMES) as OutcomeCode[];

describe('the reason vocabulary', () => {
  it('is CamelCase and within the 128 characters Kubernetes allows', () => {
    for (const reason of Object.values(REASONS)) expect(reason).toMatch(/^[A-Z][a-z]+(?:[A-Z][a-z]+)*$/);
  });

  it('follows the status of each code: misconfigured -> Misconfigured, retried -> Throttled or RetryingRegistration', () => {
    for (const code of codes) {
      const spec = OUTCOMES[code];
      if (spec.status === 'misconfigured') expect(REASONS[code], code).toBe('Misconfigured');
      if (spec.retryable) expect(['Throttled', 'RetryingRegistration'], code).toContain(REASONS[code]);
      // The one entitled code that is not 'Entitled': still entitled on a license that could not be re-checked.
      if (spec.status === 'entitled') expect(REASONS[code]).toBe(code === 'LICENSE_STALE' ? 'LicenseNotRefreshed' : 'Entitled');
    }
  });

  it('makes a Normal Event only for a verified, current entitlement, a True condition for any entitled status, and no Event while registering', () => {
    for (const code of codes) {
      const snapshot = new EntitlementState().set({ code, message: 'm' });
      const events = eventsFor(snapshot);
      if (code === 'REGISTERING') expect(events).toEqual([]);
      else expect(events.map((e) => e.type)).toEqual([code === 'ENTITLED' ? 'Normal' : 'Warning']);
      expect(conditionFor(snapshot).status).toBe(OUTCOMES[code].status === 'entitled' ? 'True' : 'False');
    }
  });
});

describe('operator messages', () => {
  it('put the code first and the action last', () => {
    expect(operatorMessage({ code: 'INVALID_REGION', message: 'wrong region.', action: 'Fix AWS_REGION.' })).toBe('INVALID_REGION: wrong region. Action: Fix AWS_REGION.');
  });

  it('truncate on UTF-8 byte counts, never inside a character', () => {
    expect(truncateBytes('abc', 3)).toBe('abc');
    expect(truncateBytes('abcd', 3)).toBe('…'); // the ellipsis itself is 3 bytes
    expect(truncateBytes('€€€', 8)).toBe('€…'); // 3 + 3 bytes; a second € would make 9
    expect(Buffer.byteLength(truncateBytes('😀'.repeat(400), 1024))).toBeLessThanOrEqual(1024);
    expect(truncateBytes('😀'.repeat(400), 1024)).not.toContain('\uFFFD');
  });

  it('keep the whole action even when AWS says a lot', () => {
    const action = OUTCOMES.ACCESS_DENIED.action;
    const text = operatorMessage({ code: 'ACCESS_DENIED', message: 'x'.repeat(5_000), action });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(1024);
    expect(text.endsWith(`Action: ${action}`)).toBe(true);
  });
});
