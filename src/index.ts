/**
 * The package's library surface, for Node apps that read the entitlement file and want to verify
 * the signed token themselves rather than trust a boolean.
 */
export { verifyEntitlementFile, EntitlementFileError } from './entitlement-verifier.js';
export type { VerifyEntitlementFileOptions, VerifiedEntitlement } from './entitlement-verifier.js';
export { verifyRegistrationToken, TokenVerificationError, TOKEN_FAILURE_REASONS } from './verify.js';
export type { ExpectedClaims, VerifiedClaims, TokenFailureReason } from './verify.js';
export { parseProductPublicKey } from './public-key.js';
export type { EntitlementRecord } from './entitlement-file.js';
export { OUTCOMES, STATUSES } from './outcomes.js';
export type { OutcomeCode, Status } from './outcomes.js';
