import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCredentialSource } from '../../../src/aws/credentials.js';
import { tempDir } from '../../helpers/tmp.js';

describe('describeCredentialSource', () => {
  const home = () => ({ HOME: tempDir() });

  it.each([
    [{ AWS_ROLE_ARN: 'arn:aws:iam::1:role/r', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' }, 'irsa-web-identity', true],
    [{ AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc' }, 'ecs-task-role', true],
    [
      { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token' },
      'eks-pod-identity',
      false,
    ],
    [{ AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/creds' }, 'container-credentials', false],
    [{ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' }, 'environment-keys', false],
    [{ AWS_PROFILE: 'dev' }, 'shared-profile', false],
    [{}, 'instance-profile', false],
  ])('%j is %s (supported: %s)', (env, source, supported) => {
    const r = describeCredentialSource({ ...home(), ...env });
    expect(r.source).toBe(source);
    expect(r.supported).toBe(supported);
    expect(r.warning === undefined).toBe(supported);
  });

  it('names IRSA as the fix when EKS Pod Identity is in use', () => {
    const r = describeCredentialSource({ ...home(), AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials', AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/t' });
    expect(r.warning).toContain('EKS Pod Identity is NOT supported by RegisterUsage');
    expect(r.warning).toContain('eks.amazonaws.com/role-arn');
  });

  it('prefers static keys over IRSA, as the SDK chain does', () => {
    expect(describeCredentialSource({ ...home(), AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_ROLE_ARN: 'r', AWS_WEB_IDENTITY_TOKEN_FILE: 'f' }).source).toBe('environment-keys');
  });

  it('sees a shared credentials file in HOME', () => {
    const h = home();
    mkdirSync(join(h.HOME, '.aws'));
    writeFileSync(join(h.HOME, '.aws', 'credentials'), '[default]\n');
    expect(describeCredentialSource(h).source).toBe('shared-profile');
  });
});
