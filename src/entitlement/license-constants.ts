/**
 * License Manager's constants for AWS Marketplace licenses, in a module of their own so what only names
 * them (the start-up log) does not load the token verifier (jose) with them.
 */

/**
 * The issuer fingerprint of licenses AWS Marketplace issues. It is what makes a check mean "a license
 * AWS Marketplace issued", not one a buyer made for themselves with CreateLicense: never configurable.
 */
export const AWS_MARKETPLACE_KEY_FINGERPRINT = 'aws:294406891311:AWS/Marketplace:issuer-fingerprint';
