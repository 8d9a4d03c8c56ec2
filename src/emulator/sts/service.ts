/**
 * AWS STS as the emulator serves it: the AWS Query protocol (form body, `Version=2011-06-15`, XML
 * answers in the namespace https://sts.amazonaws.com/doc/2011-06-15/), SigV4 signing name `sts`, and
 * the one operation Containers Anywhere needs, AssumeRoleWithWebIdentity.
 */
import type { Service } from '../service.js';
import { assumeRoleWithWebIdentity } from './assume-role-with-web-identity.js';
import { stsError, STS_MESSAGES } from './errors.js';

export const stsService: Service = {
  name: 'STS',
  signingName: 'sts',
  protocol: { kind: 'query', version: '2011-06-15', xmlNamespace: 'https://sts.amazonaws.com/doc/2011-06-15/' },
  operations: { AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity },
  throttled: () => stsError('Throttling', STS_MESSAGES.Throttling),
  internalError: () => stsError('InternalFailure', STS_MESSAGES.InternalFailure),
};
