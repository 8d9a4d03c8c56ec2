/**
 * IAM, as far as the emulator models it: every credential may call every License Manager operation,
 * except the ones a scenario names in `authorizationErrors` (access key id -> AuthorizationException
 * or AccessDeniedException), e.g. the node's instance role, which AWS answers AuthorizationException.
 * Like the other injected faults, it applies only to the operations in `faultOperations`.
 */
import type { OperationCall } from '../service.js';
import { licenseManagerError } from './errors.js';

/** Throws the error the scenario gives this caller's credential, if any. */
export function authorize(call: OperationCall): void {
  if (!call.faultsApply || call.identity === null) return;
  const { accessKeyId, accountId } = call.identity.credential;
  const errors = call.scenario.authorizationErrors;
  if (!Object.hasOwn(errors, accessKeyId)) return;
  const code = errors[accessKeyId];
  if (code === undefined) return;
  // IAM's wording; the emulator has no users, so the access key stands in for the user name.
  const principal = call.identity.credential.principalArn ?? `arn:aws:iam::${accountId}:user/${accessKeyId}`;
  throw licenseManagerError(code, `User: ${principal} is not authorized to perform: license-manager:${call.operation}`);
}

/** The caller's account, whose licenses and checkouts the operation sees (every operation here but GetAccessToken is signed). */
export function accountOf(call: OperationCall): string {
  if (call.account === null) throw new Error(`${call.operation} reached without a signed identity`);
  return call.account;
}
