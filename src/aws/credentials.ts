import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** AWS credentials as the SDK's providers resolve them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** A credential provider as the SDK takes it: called before each request, caching inside. */
export type CredentialProvider = () => Promise<AwsCredentials>;

/**
 * Which link of the SDK's default credential chain will answer, read from the same signals the chain
 * reads, in the chain's order. AWS supports RegisterUsage only with the ECS task role and EKS IRSA.
 */

export const CREDENTIAL_SOURCES = {
  'environment-keys': { supported: false, label: 'static keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY' },
  'shared-profile': { supported: false, label: 'a profile from the shared AWS config/credentials files' },
  'irsa-web-identity': { supported: true, label: 'EKS IAM roles for service accounts (web identity token)' },
  'eks-pod-identity': { supported: false, label: 'EKS Pod Identity (container credentials with an authorization token)' },
  'ecs-task-role': { supported: true, label: 'the ECS task role' },
  'container-credentials': { supported: false, label: 'a container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)' },
  'instance-profile': { supported: false, label: "the EC2 instance profile (the node's role)" },
  'license-token': { supported: true, label: "the buyer's license token (outside AWS: GetAccessToken, then STS AssumeRoleWithWebIdentity)" },
} as const;
export type CredentialSource = keyof typeof CREDENTIAL_SOURCES;

export interface CredentialSourceReport {
  readonly source: CredentialSource;
  readonly supported: boolean;
  readonly label: string;
  /** Why AWS will not accept it for RegisterUsage, and what to use instead; absent when supported. */
  readonly warning: string | undefined;
}

const WARNINGS: Partial<Record<CredentialSource, string>> = {
  'environment-keys':
    'AWS does not support long-term keys for RegisterUsage on ECS/EKS; use the ECS task role or EKS IRSA (static keys are fine only against the local emulator)',
  'shared-profile': 'AWS supports only the ECS task role and EKS IRSA for RegisterUsage; a shared profile will not work on ECS/EKS',
  'eks-pod-identity':
    'EKS Pod Identity is NOT supported by RegisterUsage: annotate the service account with an IRSA role (eks.amazonaws.com/role-arn) instead',
  'container-credentials': 'only the ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) is supported for RegisterUsage on ECS',
  'instance-profile':
    "the node's instance role is NOT supported by RegisterUsage: use the ECS task role or EKS IRSA",
};

/** License Manager, for contract products: what AWS is known to refuse there. */
const LICENSE_MANAGER_WARNINGS: Partial<Record<CredentialSource, string>> = {
  'instance-profile':
    "License Manager answers the node's instance role with AuthorizationException: use the ECS task role or EKS IRSA, or, outside AWS, mount the buyer's license Secret (ENTITLEMENT_LICENSE_TOKEN_DIR)",
  'eks-pod-identity': 'use EKS IRSA (eks.amazonaws.com/role-arn) for License Manager, as AWS documents for Marketplace container products',
};

export function describeCredentialSource(
  env: NodeJS.ProcessEnv,
  options: { readonly licenseToken?: boolean; readonly service?: 'register-usage' | 'license-manager' } = {},
): CredentialSourceReport {
  const has = (name: string) => env[name] !== undefined && env[name] !== '';
  let source: CredentialSource;
  if (has('AWS_ACCESS_KEY_ID') && has('AWS_SECRET_ACCESS_KEY')) source = 'environment-keys';
  else if (has('AWS_PROFILE') || sharedFilesExist(env)) source = 'shared-profile';
  else if (has('AWS_WEB_IDENTITY_TOKEN_FILE') && has('AWS_ROLE_ARN')) source = 'irsa-web-identity';
  else if (has('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')) source = 'ecs-task-role';
  else if (has('AWS_CONTAINER_CREDENTIALS_FULL_URI') && (has('AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE') || has('AWS_CONTAINER_AUTHORIZATION_TOKEN'))) {
    source = 'eks-pod-identity';
  } else if (has('AWS_CONTAINER_CREDENTIALS_FULL_URI')) source = 'container-credentials';
  // With the license Secret mounted, the chain ends with the license token instead of IMDS.
  else source = options.licenseToken === true ? 'license-token' : 'instance-profile';
  const { supported, label } = CREDENTIAL_SOURCES[source];
  const warnings = options.service === 'license-manager' ? LICENSE_MANAGER_WARNINGS : WARNINGS;
  return { source, supported, label, warning: warnings[source] };
}

function sharedFilesExist(env: NodeJS.ProcessEnv): boolean {
  const home = env.HOME ?? homedir();
  const credentials = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials');
  // A config file alone usually holds settings, not credentials; the chain passes over it, and over
  // an empty credentials file (such as /dev/null) too.
  try {
    const st = statSync(credentials);
    return st.isFile() && st.size > 0;
  } catch {
    return false;
  }
}
