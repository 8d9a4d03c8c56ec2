import { describe, expect, it } from 'vitest';
import { describeEndpoint, meteringEndpointOverride } from '../../../src/aws/clients.js';
import { licenseManagerEndpointOverride } from '../../../src/aws/license-manager.js';

describe('endpoint overrides', () => {
  it('are read as the SDK reads them: the service variable first, then AWS_ENDPOINT_URL, empty as unset', () => {
    expect(meteringEndpointOverride({ AWS_ENDPOINT_URL_MARKETPLACE_METERING: 'http://a', AWS_ENDPOINT_URL: 'http://b' })).toBe('http://a');
    expect(meteringEndpointOverride({ AWS_ENDPOINT_URL_MARKETPLACE_METERING: '', AWS_ENDPOINT_URL: 'http://b' })).toBe('http://b');
    expect(licenseManagerEndpointOverride({ AWS_ENDPOINT_URL_LICENSE_MANAGER: 'http://c', AWS_ENDPOINT_URL: 'http://b' })).toBe('http://c');
    expect(licenseManagerEndpointOverride({ AWS_ENDPOINT_URL_MARKETPLACE_METERING: 'http://a' })).toBeUndefined();
  });

  it('are logged without user info, query or fragment, and a value that is no URL is not echoed', () => {
    expect(describeEndpoint(undefined)).toBeUndefined();
    expect(describeEndpoint('http://127.0.0.1:4566')).toBe('http://127.0.0.1:4566');
    expect(describeEndpoint('https://admin:s3cr3t@proxy.example:8443/lm/?X-Amz-Security-Token=abc#f')).toBe('https://proxy.example:8443/lm/');
    const notUrl = describeEndpoint('AKIAIOSFODNN7EXAMPLE not a url');
    expect(notUrl).toBe('(not a URL)');
  });
});
