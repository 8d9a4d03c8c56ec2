/**
 * AWS's own clients as peers: Debian's AWS CLI v2 (/usr/bin/aws, not the pip v1 CLI on PATH) and
 * boto3 (/usr/bin/python3 with python3-boto3). If the emulator's wire format or SigV4 check were
 * off, these real clients would say so. The Debian CLI ignores AWS_ENDPOINT_URL_*, hence --endpoint-url.
 *
 * They sign with the machine's clock, so their emulators run on realClock(); every Timestamp is
 * taken from the emulator's clock and chosen so that no calendar rule can refuse it, wherever real
 * time is in its hour, month or year (calendar.test.ts tests the rules at pinned instants).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importSPKI, jwtVerify } from 'jose';
import { AWS_CLI, AWS_PYTHON, awsClientEnv, CRED, CRED_ENV, PRODUCT, realClock, runProcess, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';


describe('AWS CLI v2 and boto3 against the emulator', () => {
  let emulator: TestEmulator;
  let home: string;
  beforeAll(async () => {
    emulator = await startTestEmulator({ clock: realClock(), scenario: { rateLimit: null } });
    home = await mkdtemp(join(tmpdir(), 'emulator-aws-home-'));
  });
  afterAll(async () => {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator.reset();
    emulator.setScenario({ mode: 'entitled', rotationTimestamp: null });
  });

  const env = (secret = CRED.secretAccessKey): NodeJS.ProcessEnv => awsClientEnv(home, { ...CRED_ENV, AWS_SECRET_ACCESS_KEY: secret });

  const cli = (o: { region?: string; nonce?: string; secret?: string; sessionToken?: string } = {}) =>
    runProcess(
      AWS_CLI,
      ['meteringmarketplace', 'register-usage', '--endpoint-url', emulator.url, '--region', o.region ?? 'us-east-1',
        '--product-code', PRODUCT, '--public-key-version', '1', '--nonce', o.nonce ?? 'cli-nonce', '--output', 'json'],
      { ...env(o.secret), ...(o.sessionToken !== undefined ? { AWS_SESSION_TOKEN: o.sessionToken } : {}) },
    );

  it('the CLI gets a Signature that verifies with the emulator public key', async () => {
    const { code, stdout, stderr } = await cli({ nonce: 'cli-nonce-1' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { Signature: string };
    const { payload } = await jwtVerify(out.Signature, await importSPKI(emulator.publicKeyPem, 'PS256'), { algorithms: ['PS256'] });
    expect(payload).toMatchObject({ productCode: PRODUCT, publicKeyVersion: 1, nonce: 'cli-nonce-1' });
    // What botocore signs for this JSON 1.1 call (recorded by the emulator's verifier).
    expect(emulator.calls().at(-1)?.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-target']);
  });

  it('the CLI with session credentials signs x-amz-security-token, and each token is its own caller (one task or pod)', async () => {
    emulator.setScenario({ mode: 'not-entitled' });
    const first = await cli({ sessionToken: 'cli-session-of-pod-a' });
    expect(first.code).toBe(254);
    expect(first.stderr).toContain('An error occurred (CustomerNotEntitledException) when calling the RegisterUsage operation');
    expect(emulator.calls().at(-1)?.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-security-token', 'x-amz-target']);
    expect((await cli({ sessionToken: 'cli-session-of-pod-a' })).code).toBe(0);
    expect((await cli({ sessionToken: 'cli-session-of-pod-b' })).code).toBe(254);
    expect(emulator.state().knownCallers).toBe(2);
  });

  it('the CLI reports CustomerNotEntitledException on the first call, exits 254, and gets a token on the second', async () => {
    emulator.setScenario({ mode: 'not-entitled' });
    const first = await cli();
    expect(first.code).toBe(254);
    expect(first.stderr).toContain('An error occurred (CustomerNotEntitledException) when calling the RegisterUsage operation');
    const second = await cli();
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toHaveProperty('Signature');
  });

  it('the CLI reports InvalidRegionException when called for another region', async () => {
    const { code, stderr } = await cli({ region: 'eu-west-1' });
    expect(code).toBe(254);
    expect(stderr).toContain('An error occurred (InvalidRegionException)');
  });

  it('the CLI reports InvalidSignatureException for a wrong secret key', async () => {
    const { code, stderr } = await cli({ secret: 'wrong/secret' });
    expect(code).toBe(254);
    expect(stderr).toContain('An error occurred (InvalidSignatureException)');
  });

  it('the CLI shows PublicKeyRotationTimestamp as the same instant the emulator sent', async () => {
    emulator.setScenario({ rotationTimestamp: 1_767_225_600 });
    const { code, stdout } = await cli();
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { PublicKeyRotationTimestamp: string };
    expect(new Date(out.PublicKeyRotationTimestamp).getTime()).toBe(1_767_225_600_000);
  });

  const BOTO3 = `
import json, sys
import boto3
client = boto3.client('meteringmarketplace', endpoint_url=sys.argv[1], region_name='us-east-1')
out = []
for nonce in ('boto-1', 'boto-2'):
    try:
        r = client.register_usage(ProductCode=sys.argv[2], PublicKeyVersion=1, Nonce=nonce)
        out.append({'Signature': r['Signature']})
    except client.exceptions.PlatformNotSupportedException as e:
        out.append({'modelled': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']})
print(json.dumps(out))
`;

  it('boto3 with session credentials passes the stricter signature checks', async () => {
    const script = `
import sys
import boto3
client = boto3.client('meteringmarketplace', endpoint_url=sys.argv[1], region_name='us-east-1')
print(client.register_usage(ProductCode=sys.argv[2], PublicKeyVersion=1, Nonce='boto-session')['Signature'])
`;
    const { code, stdout, stderr } = await runProcess(AWS_PYTHON, ['-c', script, emulator.url, PRODUCT], { ...env(), AWS_SESSION_TOKEN: 'boto-session-1' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { payload } = await jwtVerify(stdout.trim(), await importSPKI(emulator.publicKeyPem, 'PS256'), { algorithms: ['PS256'] });
    expect(payload).toMatchObject({ productCode: PRODUCT, nonce: 'boto-session' });
    expect(emulator.calls().at(-1)?.signedHeaders).toContain('x-amz-security-token');
  });

  it('boto3 raises the modelled PlatformNotSupportedException first, then gets a token that verifies', async () => {
    emulator.setScenario({ mode: 'platform-not-supported' });
    const { code, stdout, stderr } = await runProcess(AWS_PYTHON, ['-c', BOTO3, emulator.url, PRODUCT], env());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [denied, admitted] = JSON.parse(stdout) as [{ modelled: string; status: number }, { Signature: string }];
    expect(denied).toEqual({ modelled: 'PlatformNotSupportedException', status: 400 });
    const { payload } = await jwtVerify(admitted.Signature, await importSPKI(emulator.publicKeyPem, 'PS256'), { algorithms: ['PS256'] });
    expect(payload).toMatchObject({ productCode: PRODUCT, nonce: 'boto-2' });
  });
});

/**
 * Debian's CLI 2.9 carries an older service model than the SDK: no ClientToken (so no
 * `--client-token`), no LicenseArn, no CustomerAWSAccountId in a UsageRecord, CustomerIdentifier and
 * the request's ProductCode required by its own client-side validation, and a ResolveCustomer result
 * without LicenseArn (botocore drops members its model does not have).
 */
describe('AWS CLI v2 drives MeterUsage, BatchMeterUsage and ResolveCustomer', () => {
  const CUSTOMER = 'cust-cli-0001';
  let emulator: TestEmulator;
  let home: string;
  beforeAll(async () => {
    emulator = await startTestEmulator({
      clock: realClock(),
      dimensions: ['gb_scanned', 'requests'],
      customers: [{ customerIdentifier: CUSTOMER, customerAWSAccountId: '123456789012', productCode: PRODUCT }],
      scenario: { rateLimit: null, meterUsageRateLimit: null },
    });
    home = await mkdtemp(join(tmpdir(), 'emulator-aws-home-'));
  });
  afterAll(async () => {
    await emulator.close();
    await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => emulator.reset());

  const aws = (args: string[]) =>
    runProcess(AWS_CLI, ['meteringmarketplace', ...args, '--endpoint-url', emulator.url, '--region', 'us-east-1', '--output', 'json'], awsClientEnv(home, CRED_ENV));
  /** An hour before the emulator's now, in whole seconds (botocore sends integer epoch seconds): inside MeterUsage's 6 hours, and too recent for a closed billing month. */
  const hourAgo = () => new Date(Math.floor(emulator.clock.now().getTime() / 1000) * 1000 - 3_600_000).toISOString();

  it('meter-usage: a dry run, then a record with allocations; the same hour again with another quantity is DuplicateRequestException (exit 254)', async () => {
    const timestamp = hourAgo();
    const base = ['meter-usage', '--product-code', PRODUCT, '--timestamp', timestamp, '--usage-dimension', 'gb_scanned'];
    const dry = await aws([...base, '--usage-quantity', '0', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(emulator.records()).toEqual([]);

    const allocations = JSON.stringify([{ AllocatedUsageQuantity: 5, Tags: [{ Key: 'team', Value: 'web' }] }, { AllocatedUsageQuantity: 7 }]);
    const sent = await aws([...base, '--usage-quantity', '12', '--usage-allocations', allocations]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    const { MeteringRecordId } = JSON.parse(sent.stdout) as { MeteringRecordId: string };
    expect(emulator.records()).toEqual([
      expect.objectContaining({
        meteringRecordId: MeteringRecordId,
        timestamp: new Date(timestamp).toISOString(),
        quantity: 12,
        allocations: [{ quantity: 5, tags: { team: 'web' } }, { quantity: 7, tags: {} }],
        clientToken: null,
      }),
    ]);
    // botocore sends no ClientToken; the hour alone makes a resend idempotent.
    expect(JSON.parse((await aws([...base, '--usage-quantity', '12', '--usage-allocations', allocations])).stdout)).toEqual({ MeteringRecordId });

    const dup = await aws([...base, '--usage-quantity', '13']);
    expect(dup.code).toBe(254);
    expect(dup.stderr).toContain('An error occurred (DuplicateRequestException) when calling the MeterUsage operation');
  });

  it('meter-usage reports InvalidUsageDimensionException for a dimension the product lacks', async () => {
    const { code, stderr } = await aws(['meter-usage', '--product-code', PRODUCT, '--timestamp', hourAgo(), '--usage-dimension', 'cpu_hours', '--usage-quantity', '1']);
    expect(code).toBe(254);
    expect(stderr).toContain('An error occurred (InvalidUsageDimensionException) when calling the MeterUsage operation');
  });

  it('batch-meter-usage: per-record statuses from --usage-records JSON; an old timestamp is TimestampOutOfBoundsException (exit 254)', async () => {
    // 10 minutes back: a billing month closes only at 06:00 on the 1st, so this is never in a closed one.
    const timestamp = Math.floor(emulator.clock.now().getTime() / 1000) - 600;
    const records = [
      { CustomerIdentifier: CUSTOMER, Dimension: 'requests', Quantity: 40, Timestamp: timestamp },
      { CustomerIdentifier: 'cust-nobody', Dimension: 'requests', Quantity: 1, Timestamp: timestamp },
    ];
    const ok = await aws(['batch-meter-usage', '--product-code', PRODUCT, '--usage-records', JSON.stringify(records)]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const out = JSON.parse(ok.stdout) as { Results: { Status: string; MeteringRecordId?: string; UsageRecord: { Timestamp: string } }[]; UnprocessedRecords: unknown[] };
    expect(out.Results.map((r) => r.Status)).toEqual(['Success', 'CustomerNotSubscribed']);
    expect(out.Results[0]?.MeteringRecordId).toBe(emulator.records()[0]?.meteringRecordId);
    expect(new Date(out.Results[0]?.UsageRecord.Timestamp ?? '').getTime()).toBe(timestamp * 1000);
    expect(out.UnprocessedRecords).toEqual([]);
    expect(emulator.totals()).toEqual({ requests: 40 });

    const stale = [{ ...records[0], Timestamp: timestamp - 2 * 86_400 }];
    const err = await aws(['batch-meter-usage', '--product-code', PRODUCT, '--usage-records', JSON.stringify(stale)]);
    expect(err.code).toBe(254);
    expect(err.stderr).toContain('An error occurred (TimestampOutOfBoundsException) when calling the BatchMeterUsage operation');
  });

  it('resolve-customer: an issued token resolves; an unknown one is InvalidTokenException (exit 254)', async () => {
    const { registrationToken } = emulator.issueRegistrationToken({
      customerAWSAccountId: '123456789012',
      productCode: PRODUCT,
      customerIdentifier: CUSTOMER,
      licenseArn: 'arn:aws:license-manager::294406891311:license:l-00000000000000000000000000000002',
    });
    const ok = await aws(['resolve-customer', '--registration-token', registrationToken]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    // No LicenseArn: this CLI's model predates it and drops it.
    expect(JSON.parse(ok.stdout)).toEqual({ CustomerIdentifier: CUSTOMER, ProductCode: PRODUCT, CustomerAWSAccountId: '123456789012' });

    const bad = await aws(['resolve-customer', '--registration-token', 'not-a-token']);
    expect(bad.code).toBe(254);
    expect(bad.stderr).toContain('An error occurred (InvalidTokenException) when calling the ResolveCustomer operation');
  });

  it('this CLI knows no --client-token (its model predates ClientToken)', async () => {
    const { code, stderr } = await aws(['meter-usage', '--product-code', PRODUCT, '--timestamp', hourAgo(), '--usage-dimension', 'gb_scanned', '--client-token', 'abc']);
    expect(code).toBe(252);
    expect(stderr).toContain('Unknown options: --client-token, abc');
  });
});
