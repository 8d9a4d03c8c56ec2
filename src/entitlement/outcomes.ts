/**
 * The one place that says what every registration outcome means: its public status, whether it is
 * retried, whether it is remembered for the life of the pod/task, and what the operator should do.
 * The README's table of codes is checked against OUTCOMES by a test, both ways.
 */

export const STATUSES = [
  'pending',
  'entitled',
  'not_entitled',
  'platform_not_supported',
  'misconfigured',
  'failed',
] as const;
export type Status = (typeof STATUSES)[number];

export interface OutcomeSpec {
  readonly status: Status;
  /** Retried with backoff until the register deadline. */
  readonly retryable: boolean;
  /** Remembered next to the entitlement file so a restarted sidecar in the same pod/task does not call again. */
  readonly sticky: boolean;
  /** What the operator should do, in one sentence. */
  readonly action: string;
}

export const OUTCOMES = {
  REGISTERING: {
    status: 'pending',
    retryable: false,
    sticky: false,
    action: 'Wait: the sidecar is calling AWS (RegisterUsage, or CheckoutLicense for a contract product).',
  },
  ENTITLED: {
    status: 'entitled',
    retryable: false,
    sticky: false,
    action: 'None: the entitlement is verified and the file is written.',
  },
  CUSTOMER_NOT_ENTITLED: {
    status: 'not_entitled',
    retryable: false,
    sticky: true,
    action: 'Subscribe to the product in AWS Marketplace from the account that runs this task or pod, then start a new pod/task.',
  },
  PLATFORM_NOT_SUPPORTED: {
    status: 'platform_not_supported',
    retryable: false,
    sticky: true,
    action: 'Run the product on Amazon ECS, Amazon EKS or AWS Fargate; RegisterUsage refuses other platforms (local Docker, plain EC2).',
  },
  INVALID_PRODUCT_CODE: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: "Set MARKETPLACE_PRODUCT_CODE to the product code of the seller's published listing.",
  },
  INVALID_PUBLIC_KEY_VERSION: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'Set MARKETPLACE_PUBLIC_KEY_VERSION to a key version AWS Marketplace issued for this product.',
  },
  INVALID_REGION: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'Call the Metering endpoint of the region the task/pod runs in: fix AWS_REGION or the endpoint override.',
  },
  API_DISABLED: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'The Metering API is disabled in this region; run the product in a region where AWS Marketplace metering is available.',
  },
  ACCESS_DENIED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: "Allow aws-marketplace:RegisterUsage in the task role (ECS) or the IRSA role (EKS), e.g. the managed policy AWSMarketplaceMeteringRegisterUsage.",
  },
  CREDENTIALS_REJECTED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'AWS rejected the credentials: use the ECS task role or EKS IRSA, and check the role exists and can be assumed.',
  },
  CREDENTIALS_UNAVAILABLE: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'No AWS credentials were found: attach a task role (ECS) or annotate the service account with an IRSA role (EKS).',
  },
  REGION_UNRESOLVED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'Set AWS_REGION to the region the task/pod runs in (IRSA and ECS normally set it); no region is assumed.',
  },
  REQUEST_INVALID: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'AWS refused the request as malformed: check MARKETPLACE_PRODUCT_CODE and MARKETPLACE_PUBLIC_KEY_VERSION.',
  },
  THROTTLED: {
    status: 'pending',
    retryable: true,
    sticky: false,
    action: 'None yet: the account is over the RegisterUsage quota (5/s per region); the sidecar backs off and retries.',
  },
  SERVICE_UNAVAILABLE: {
    status: 'pending',
    retryable: true,
    sticky: false,
    action: 'None yet: AWS answered with a server error; the sidecar retries until the register deadline.',
  },
  NETWORK_ERROR: {
    status: 'pending',
    retryable: true,
    sticky: false,
    action: 'Check that the task/pod can reach the Metering endpoint (VPC endpoint, NAT, DNS); the sidecar retries until the register deadline.',
  },
  TIMEOUT: {
    status: 'pending',
    retryable: true,
    sticky: false,
    action: 'The Metering endpoint did not answer in time; the sidecar retries until the register deadline.',
  },
  DEADLINE_EXCEEDED: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'The call to AWS (RegisterUsage or CheckoutLicense) kept failing transiently until ENTITLEMENT_REGISTER_DEADLINE; fix connectivity, then restart the task/pod.',
  },
  UNEXPECTED_ERROR: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'AWS answered with an error this sidecar does not know; see the logged error code and contact the seller.',
  },
  TOKEN_INVALID: {
    status: 'not_entitled',
    retryable: false,
    sticky: false,
    action: 'The signed token did not verify: check MARKETPLACE_PUBLIC_KEY(_FILE) and MARKETPLACE_PUBLIC_KEY_VERSION match, or look for a proxy tampering with the response.',
  },
  TOKEN_MISMATCH: {
    status: 'not_entitled',
    retryable: false,
    sticky: false,
    action: 'The signed token does not match the request (product code, key version or nonce): a replayed or forged response; contact the seller.',
  },
  USAGE_DIMENSION_INVALID: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: "Set MARKETPLACE_USAGE_DIMENSIONS to the product's dimension names exactly as listed in the AWS Marketplace Management Portal.",
  },
  METERING_DRY_RUN_FAILED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'MeterUsage refused a dry run: allow aws-marketplace:MeterUsage in the task role or IRSA role (managed policy AWSMarketplaceMeteringFullAccess) and check the logged error.',
  },
  USAGE_UNAVAILABLE: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'The usage journal could not be opened: mount a writable volume at the directory of ENTITLEMENT_FILE, and remove whatever is at usage-journal.ndjson there if it is not the journal (a link, a FIFO, a directory).',
  },
  NO_LICENSE: {
    status: 'not_entitled',
    retryable: false,
    sticky: false,
    action:
      'Buy or renew the contract for this product in AWS Marketplace from the account that runs the pod/task, and check the unit of each entitlement in MARKETPLACE_LICENSE_ENTITLEMENTS (a tier is None, a seat or node Count); the sidecar checks again every ENTITLEMENT_LICENSE_CHECK_INTERVAL.',
  },
  LICENSE_EXPIRED: {
    status: 'not_entitled',
    retryable: false,
    sticky: false,
    action: 'The contract has ended: the buyer renews it in AWS Marketplace; the sidecar sees the renewal at its next check, without a restart.',
  },
  LICENSE_INACTIVE: {
    status: 'not_entitled',
    retryable: false,
    sticky: false,
    action: 'The license is not available (suspended, deactivated or being deleted: see the message); the buyer resolves it with AWS Marketplace; the sidecar checks again every ENTITLEMENT_LICENSE_CHECK_INTERVAL.',
  },
  LICENSE_STALE: {
    status: 'entitled',
    retryable: false,
    sticky: false,
    action:
      'None yet: License Manager could not be reached, so the last good license stays in force until ENTITLEMENT_LICENSE_GRACE runs out. Allow outbound HTTPS to license-manager.<region>.amazonaws.com (and, outside AWS, sts.<region>.amazonaws.com).',
  },
  LICENSE_CHECK_FAILED: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action:
      'License Manager could not be reached for longer than ENTITLEMENT_LICENSE_GRACE: allow outbound HTTPS to license-manager.<region>.amazonaws.com (and, outside AWS, sts.<region>.amazonaws.com); the sidecar keeps checking and recovers by itself.',
  },
  LICENSE_ACCESS_DENIED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action:
      "Allow license-manager:CheckoutLicense, CheckInLicense, ExtendLicenseConsumption, GetLicense and ListReceivedLicenses (the managed policy AWSLicenseManagerConsumptionPolicy) in the task role (ECS) or the IRSA role (EKS); the node's instance role is refused.",
  },
  LICENSE_REQUEST_INVALID: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: 'License Manager refused the request as malformed: check MARKETPLACE_PRODUCT_SKU and MARKETPLACE_LICENSE_ENTITLEMENTS.',
  },
  LICENSE_REDIRECTED: {
    status: 'misconfigured',
    retryable: false,
    sticky: false,
    action: "License Manager sent the check to the license's home region and could not be followed there: set AWS_REGION to the license's home region, or check AWS_ENDPOINT_URL_LICENSE_MANAGER.",
  },
  DENIAL_RECORD_UNREADABLE: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'Something that is not a denial record of this sidecar (a link, a FIFO, a directory, a damaged file) is at <ENTITLEMENT_FILE>.denied; the sidecar fails closed and does not call RegisterUsage. Start a new pod/task with a fresh volume.',
  },
  ENTITLEMENT_WRITE_FAILED: {
    status: 'failed',
    retryable: false,
    sticky: false,
    action: 'The entitlement file could not be written: mount a writable volume at the directory of ENTITLEMENT_FILE.',
  },
} as const satisfies Record<string, OutcomeSpec>;

export type OutcomeCode = keyof typeof OUTCOMES;
