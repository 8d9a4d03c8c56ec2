/**
 * The package's library surface, for Node apps that read the entitlement file and want to verify
 * the signed token themselves rather than trust a boolean (hourly products), or check a contract
 * product's file against the SKU compiled into them.
 */
export { verifyEntitlementFile, EntitlementFileError } from './entitlement/verify-file.js';
export type { VerifyEntitlementFileOptions, VerifiedEntitlement } from './entitlement/verify-file.js';
export { checkLicenseEntitlementFile, AWS_MARKETPLACE_KEY_FINGERPRINT } from './entitlement/license-file.js';
export type { CheckLicenseFileOptions, LicenseEntitlement } from './entitlement/license-file.js';
export { verifyRegistrationToken, TokenVerificationError, TOKEN_FAILURE_REASONS } from './entitlement/token.js';
export type { ExpectedClaims, VerifiedClaims, TokenFailureReason } from './entitlement/token.js';
export { parseProductPublicKey } from './entitlement/public-key.js';
export type { EntitlementRecord } from './entitlement/file.js';
export { OUTCOMES, STATUSES } from './entitlement/outcomes.js';
export type { OutcomeCode, Status } from './entitlement/outcomes.js';
