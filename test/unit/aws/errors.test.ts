import { describe, expect, it } from 'vitest';
import { codeForAwsError, unqualifiedErrorName } from '../../../src/aws/errors.js';

describe('codeForAwsError', () => {
  it('maps every modelled RegisterUsage error, and 5xx of unknown name to a retry', () => {
    expect(codeForAwsError('PlatformNotSupportedException', 400)).toBe('PLATFORM_NOT_SUPPORTED');
    expect(codeForAwsError('InvalidPublicKeyVersionException', 400)).toBe('INVALID_PUBLIC_KEY_VERSION');
    expect(codeForAwsError('DisabledApiException', 400)).toBe('API_DISABLED');
    expect(codeForAwsError('Whatever', 504)).toBe('SERVICE_UNAVAILABLE');
  });
  it('strips the namespace and the header suffix from error names', () => {
    expect(unqualifiedErrorName('com.amazonaws.marketplacemetering#ThrottlingException')).toBe('ThrottlingException');
    expect(unqualifiedErrorName('ThrottlingException:http://internal.amazon.com/coral/')).toBe('ThrottlingException');
  });
});
