/**
 * The package's library surface, for Node apps that read the entitlement file and want to verify
 * the signed token themselves rather than trust a boolean.
 */
export { verifyEntitlementFile, EntitlementFileError } from './entitlement/verify-file.js';
export type { VerifyEntitlementFileOptions, VerifiedEntitlement } from './entitlement/verify-file.js';
export { verifyRegistrationToken, TokenVerificationError, TOKEN_FAILURE_REASONS } from './entitlement/token.js';
export type { ExpectedClaims, VerifiedClaims, TokenFailureReason } from './entitlement/token.js';
export { parseProductPublicKey } from './entitlement/public-key.js';
export type { EntitlementRecord } from './entitlement/file.js';
export { OUTCOMES, STATUSES } from './entitlement/outcomes.js';
export type { OutcomeCode, Status } from './entitlement/outcomes.js';
