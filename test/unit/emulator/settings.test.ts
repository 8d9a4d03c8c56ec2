import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_LICENSES_FILE_BYTES, parseEmulatorArgs } from '../../../src/emulator/settings.js';
import { DEFAULT_EMULATOR_CREDENTIALS, ENTITLEMENT_UNITS, MODES } from '../../../src/emulator/index.js';
import { tempDir } from '../../helpers/tmp.js';

describe('parseEmulatorArgs', () => {
  it('needs only a region; everything else has a default', () => {
    expect(parseEmulatorArgs(['--region', 'eu-west-1'], {})).toEqual({
      ok: true,
      options: { host: '127.0.0.1', port: 8787, region: 'eu-west-1', credentials: DEFAULT_EMULATOR_CREDENTIALS, keyBits: 3072, scenario: {} },
    });
  });

  it('reads the environment, EMULATOR_REGION before AWS_REGION, and flags win over both', () => {
    const env = {
      EMULATOR_LISTEN: '0.0.0.0:9000',
      EMULATOR_REGION: 'ap-south-1',
      AWS_REGION: 'us-west-2',
      EMULATOR_SCENARIO: 'disabled-api',
      EMULATOR_PUBLIC_KEY_OUT: '/tmp/k.pem',
      EMULATOR_CREDENTIALS: 'AKIAONE:s1:111111111111,AKIATWO:s2:222222222222',
    };
    const fromEnv = parseEmulatorArgs([], env);
    expect(fromEnv).toMatchObject({
      ok: true,
      options: {
        host: '0.0.0.0',
        port: 9000,
        region: 'ap-south-1',
        publicKeyOut: '/tmp/k.pem',
        scenario: { mode: 'disabled-api' },
        credentials: [
          { accessKeyId: 'AKIAONE', secretAccessKey: 's1', accountId: '111111111111' },
          { accessKeyId: 'AKIATWO', secretAccessKey: 's2', accountId: '222222222222' },
        ],
      },
    });
    expect(parseEmulatorArgs([], { AWS_REGION: 'us-west-2' })).toMatchObject({ ok: true, options: { region: 'us-west-2' } });
    const fromFlags = parseEmulatorArgs(
      ['--region=eu-north-1', '--listen', '[::1]:0', '--scenario', 'not-entitled', '--products', 'a,b', '--public-key-versions', '1,2', '--rate-limit', '0', '--key-bits', '2048'],
      env,
    );
    expect(fromFlags).toMatchObject({
      ok: true,
      options: { host: '::1', port: 0, region: 'eu-north-1', productCodes: ['a', 'b'], publicKeyVersions: [1, 2], keyBits: 2048, scenario: { mode: 'not-entitled', rateLimit: null } },
    });
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--rate-limit', '7'], {})).toMatchObject({ ok: true, options: { scenario: { rateLimit: { perSecond: 7, burst: 7 } } } });
  });

  it('reports every problem at once, each naming its flag or variable and what is allowed', () => {
    const parsed = parseEmulatorArgs(
      ['--listen', 'nowhere', '--scenario', 'happy', '--credentials', 'AKIA:only-two', '--products', 'bad code', '--public-key-versions', '0', '--rate-limit', '-1', '--key-bits', '1024', '--colour', 'red', 'stray'],
      { EMULATOR_REGION: 'moon-1' },
    );
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toEqual([
      '--colour is not a flag of the emulator; its flags: --listen, --region, --public-key-out, --scenario, --credentials, --products, --public-key-versions, --rate-limit, --key-bits, --dimensions, --look-back-hours, --batch-look-back-hours, --allowed-hosts, --licenses, --consumption-ttl, --access-token-ttl, --sts-credentials-ttl',
      // The one flag reader does not guess that an unknown flag takes a value: "red" is reported too.
      'unexpected argument(s) "red" "stray": the emulator takes flags only',
      expect.stringMatching(/^--listen must be HOST:PORT .*got "nowhere"$/),
      'EMULATOR_REGION must be an AWS region name such as us-east-1; got "moon-1"',
      `--scenario must be one of: ${MODES.join(', ')}; got "happy"`,
      expect.stringMatching(/^--credentials must be a comma-separated list of ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID .*entry 1 is not$/),
      expect.stringMatching(/^--products: "bad code" is not a product code/),
      '--public-key-versions must be a comma-separated list of integers >= 1; got "0"',
      expect.stringMatching(/^--rate-limit must be an integer >= 0 .*got "-1"$/),
      '--key-bits must be an integer from 2048 to 8192; got "1024"',
    ]);
  });

  it('reads the metering options: dimensions and the two look-backs, from flags or the environment', () => {
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--dimensions', 'gb_scanned, requests', '--look-back-hours', '1'], { EMULATOR_BATCH_LOOK_BACK_HOURS: '6' })).toMatchObject({
      ok: true,
      options: { dimensions: ['gb_scanned', 'requests'], meterUsageLookBackHours: 1, batchMeterUsageLookBackHours: 6 },
    });
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--dimensions', ',', '--look-back-hours', '0', '--batch-look-back-hours', 'day'], {})).toEqual({
      ok: false,
      problems: [
        '--dimensions must be a comma-separated list of dimension names (1-255 characters each); got ","',
        '--look-back-hours must be a number of hours > 0; got "0"',
        '--batch-look-back-hours must be a number of hours > 0; got "day"',
      ],
    });
  });

  it('reads --allowed-hosts (or EMULATOR_ALLOWED_HOSTS) and names a bad list', () => {
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--allowed-hosts', 'emulator, ci.internal'], {})).toMatchObject({ ok: true, options: { allowedHosts: ['emulator', 'ci.internal'] } });
    expect(parseEmulatorArgs(['--region', 'us-east-1'], { EMULATOR_ALLOWED_HOSTS: 'emulator' })).toMatchObject({ ok: true, options: { allowedHosts: ['emulator'] } });
    expect(parseEmulatorArgs(['--region', 'us-east-1'], { EMULATOR_ALLOWED_HOSTS: 'emulator,http://evil.example/' })).toEqual({
      ok: false,
      problems: ['EMULATOR_ALLOWED_HOSTS must be a comma-separated list of host names or IP addresses (e.g. emulator,ci-runner.internal); got "emulator,http://evil.example/"'],
    });
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--allowed-hosts', ','], {})).toMatchObject({ ok: false });
  });

  it('has no default region', () => {
    expect(parseEmulatorArgs([], {})).toEqual({ ok: false, problems: [expect.stringMatching(/^--region \(or EMULATOR_REGION, or AWS_REGION\) is required/)] });
  });

  it('never echoes a secret from a malformed credential', () => {
    const parsed = parseEmulatorArgs(['--region', 'us-east-1', '--credentials', 'AKIAX:very-secret-value:12'], {});
    expect(JSON.stringify(parsed)).not.toContain('very-secret-value');
  });
});

describe('parseEmulatorArgs: License Manager', () => {
  const SEED = { beneficiaryAccountId: '111122223333', productSku: 'sku-1', entitlements: [{ name: 'Users', unit: 'Count', maxCount: 2 }] };

  it('reads --licenses FILE (or EMULATOR_LICENSES): a JSON list of seeds, through a link as a ConfigMap mounts it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'licenses.json'), JSON.stringify([SEED]));
    symlinkSync(join(dir, 'licenses.json'), join(dir, 'link.json'));
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--licenses', join(dir, 'licenses.json')], {})).toMatchObject({ ok: true, options: { licenses: [SEED] } });
    expect(parseEmulatorArgs(['--region', 'us-east-1'], { EMULATOR_LICENSES: join(dir, 'link.json') })).toMatchObject({ ok: true, options: { licenses: [SEED] } });
  });

  it('names every problem of the file: missing, not a regular file, too large, not JSON, not a list, bad seeds', () => {
    const dir = tempDir();
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const problems = (path: string) => {
      const parsed = parseEmulatorArgs(['--region', 'us-east-1', '--licenses', path], {});
      return parsed.ok ? [] : parsed.problems;
    };
    expect(problems(join(dir, 'absent.json'))).toEqual([`--licenses: ${join(dir, 'absent.json')} cannot be read (ENOENT)`]);
    expect(problems(dir)).toEqual([`--licenses: ${dir} is a directory, not a regular file`]);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(problems(join(dir, 'fifo'))).toEqual([`--licenses: ${join(dir, 'fifo')} is a FIFO, not a regular file`]);
    expect(problems(file('big.json', ' '.repeat(MAX_LICENSES_FILE_BYTES + 1)))).toEqual([`--licenses: ${join(dir, 'big.json')} is larger than ${MAX_LICENSES_FILE_BYTES} bytes`]);
    expect(problems(file('text.json', 'licenses: none'))).toEqual([`--licenses: ${join(dir, 'text.json')} is not JSON; it must hold a list of license seeds`]);
    expect(problems(file('object.json', JSON.stringify(SEED)))).toEqual([`--licenses: ${join(dir, 'object.json')} must hold a JSON list of license seeds`]);
    expect(problems(file('bad.json', JSON.stringify([SEED, { ...SEED, entitlements: [{ name: 'Users', unit: 'Seats' }] }])))).toEqual([
      `--licenses: ${join(dir, 'bad.json')}: licenses[1].entitlements[0].unit must be one of: ${ENTITLEMENT_UNITS.join(', ')}`,
    ]);
  });

  it('reads --consumption-ttl SECONDS (or EMULATOR_CONSUMPTION_TTL) into licenseManager.consumptionTtlSeconds', () => {
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--consumption-ttl', '60'], {})).toMatchObject({ ok: true, options: { licenseManager: { consumptionTtlSeconds: 60 } } });
    expect(parseEmulatorArgs(['--region', 'us-east-1'], { EMULATOR_CONSUMPTION_TTL: '5' })).toMatchObject({ ok: true, options: { licenseManager: { consumptionTtlSeconds: 5 } } });
    for (const bad of ['0', '1.5', '1e3', '604801', 'hour']) {
      expect(parseEmulatorArgs(['--region', 'us-east-1', '--consumption-ttl', bad], {})).toEqual({ ok: false, problems: [`--consumption-ttl must be a whole number of seconds from 1 to 604800; got "${bad}"`] });
    }
  });
});

describe('parseEmulatorArgs: Containers Anywhere', () => {
  it('reads --access-token-ttl and --sts-credentials-ttl (or their variables), beside --consumption-ttl', () => {
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--access-token-ttl', '30', '--consumption-ttl', '60'], { EMULATOR_STS_CREDENTIALS_TTL: '20' })).toMatchObject({
      ok: true,
      options: { licenseManager: { consumptionTtlSeconds: 60, accessTokenTtlSeconds: 30 }, sts: { credentialsTtlSeconds: 20 } },
    });
    expect(parseEmulatorArgs(['--region', 'us-east-1'], { EMULATOR_ACCESS_TOKEN_TTL: '5' })).toMatchObject({ ok: true, options: { licenseManager: { accessTokenTtlSeconds: 5 } } });
    expect(parseEmulatorArgs(['--region', 'us-east-1', '--access-token-ttl', '86401', '--sts-credentials-ttl', '43201'], {})).toEqual({
      ok: false,
      problems: [
        '--access-token-ttl must be a whole number of seconds from 1 to 86400; got "86401"',
        '--sts-credentials-ttl must be a whole number of seconds from 1 to 43200; got "43201"',
      ],
    });
  });
});
