import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSidecarConfig, type RegisterUsageConfig, type SidecarConfig } from '../../../src/config/settings.js';
import { rsaKeyPair } from '../../helpers/keys.js';
import { tempDir } from '../../helpers/tmp.js';

const key = rsaKeyPair();

function env(dir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    MARKETPLACE_PRODUCT_CODE: 'prod-abc123',
    MARKETPLACE_PUBLIC_KEY: key.publicPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ...extra,
  };
}

function problemsOf(argv: string[], e: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadSidecarConfig(argv, e);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** The RegisterUsage settings of a config (the default source). */
function ru(c: SidecarConfig): RegisterUsageConfig {
  if (c.source.kind !== 'register-usage') throw new Error(`expected the register-usage source, got ${c.source.kind}`);
  return c.source;
}

describe('loadSidecarConfig', () => {
  it('applies the documented defaults and returns a frozen config', () => {
    const dir = tempDir();
    const c = loadSidecarConfig([], env(dir));
    expect(c).toMatchObject({
      source: { kind: 'register-usage', productCode: 'prod-abc123', publicKeyVersion: 1, trustedProductCodes: undefined },
      listen: { host: '0.0.0.0', port: 9797 },
      registerDeadlineMs: 30 * 60_000,
      logLevel: 'info',
      kubernetesStatus: 'auto',
    });
    expect(ru(c).publicKey.bits).toBe(2048);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lets flags override the environment', () => {
    const dir = tempDir();
    const c = loadSidecarConfig(['--product-code', 'other', '--listen=127.0.0.1:0', '--register-deadline', '90s'], env(dir));
    expect(ru(c).productCode).toBe('other');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.registerDeadlineMs).toBe(90_000);
  });

  it('reads the key from MARKETPLACE_PUBLIC_KEY_FILE', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, key.publicPem);
    const c = loadSidecarConfig([], env(dir, { MARKETPLACE_PUBLIC_KEY: undefined, MARKETPLACE_PUBLIC_KEY_FILE: keyFile }));
    expect(ru(c).publicKeySource).toBe(keyFile);
  });

  it('reports every problem at once, each naming its variable', () => {
    const dir = tempDir();
    const problems = problemsOf([], {
      MARKETPLACE_PRODUCT_CODE: 'bad code!',
      MARKETPLACE_PUBLIC_KEY_VERSION: '0',
      MARKETPLACE_PUBLIC_KEY: 'not a pem',
      ENTITLEMENT_FILE: join(dir, 'missing', 'entitlement.json'),
      ENTITLEMENT_LISTEN: 'nope',
      ENTITLEMENT_REGISTER_DEADLINE: 'soon',
      LOG_LEVEL: 'loud',
    });
    expect(problems).toHaveLength(7);
    for (const name of [
      'MARKETPLACE_PRODUCT_CODE must be 1-255 characters',
      'MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1',
      'MARKETPLACE_PUBLIC_KEY must be a PEM public key',
      'ENTITLEMENT_FILE its directory',
      'ENTITLEMENT_LISTEN must be host:port',
      'ENTITLEMENT_REGISTER_DEADLINE must be a duration',
      'LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
    ]) {
      expect(problems.some((p) => p.startsWith(name)), `${name} in ${problems.join(' | ')}`).toBe(true);
    }
  });

  it.each([
    ['MARKETPLACE_PRODUCT_CODE', undefined, 'MARKETPLACE_PRODUCT_CODE is required'],
    ['MARKETPLACE_PRODUCT_CODE', 'x'.repeat(256), 'MARKETPLACE_PRODUCT_CODE must be 1-255'],
    ['MARKETPLACE_PUBLIC_KEY_VERSION', '1.5', 'MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1'],
    ['MARKETPLACE_PUBLIC_KEY_VERSION', '-1', 'MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1'],
    ['MARKETPLACE_PUBLIC_KEY', undefined, 'MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required'],
    ['MARKETPLACE_TRUSTED_PRODUCT_CODES', 'a,b', 'MARKETPLACE_PRODUCT_CODE "prod-abc123" is not one of MARKETPLACE_TRUSTED_PRODUCT_CODES'],
    ['MARKETPLACE_TRUSTED_PRODUCT_CODES', 'ok,bad code', 'MARKETPLACE_TRUSTED_PRODUCT_CODES must be a comma-separated list'],
    ['ENTITLEMENT_FILE', 'relative/entitlement.json', 'ENTITLEMENT_FILE must be an absolute file path'],
    ['ENTITLEMENT_LISTEN', '127.0.0.1:70000', 'ENTITLEMENT_LISTEN must be host:port'],
    ['ENTITLEMENT_REGISTER_DEADLINE', '500ms', 'ENTITLEMENT_REGISTER_DEADLINE must be a duration from 1s to 24h'],
    ['ENTITLEMENT_REGISTER_DEADLINE', '25h', 'ENTITLEMENT_REGISTER_DEADLINE must be a duration from 1s to 24h'],
    ['ENTITLEMENT_KUBERNETES_STATUS', 'on', 'ENTITLEMENT_KUBERNETES_STATUS must be one of: auto, off, got "on"'],
  ])('refuses %s=%s', (name, value, message) => {
    const dir = tempDir();
    const problems = problemsOf([], env(dir, { [name]: value }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });

  it('accepts the product code when it is one of the trusted codes', () => {
    const dir = tempDir();
    const c = loadSidecarConfig([], env(dir, { MARKETPLACE_TRUSTED_PRODUCT_CODES: 'other, prod-abc123' }));
    expect(ru(c).trustedProductCodes).toEqual(['other', 'prod-abc123']);
  });

  it('refuses both key sources at once and an unreadable key file', () => {
    const dir = tempDir();
    expect(problemsOf([], env(dir, { MARKETPLACE_PUBLIC_KEY_FILE: '/x' }))[0]).toContain('both set; set exactly one');
    expect(problemsOf([], env(dir, { MARKETPLACE_PUBLIC_KEY: undefined, MARKETPLACE_PUBLIC_KEY_FILE: join(dir, 'nope.pem') }))[0]).toContain(
      'cannot be read (ENOENT)',
    );
  });

  it('refuses an entitlement directory that is missing or not a directory', () => {
    const dir = tempDir();
    const problems = problemsOf([], env(dir, { ENTITLEMENT_FILE: join(dir, 'entitlement.json', 'x.json') }));
    writeFileSync(join(dir, 'entitlement.json'), '');
    const again = problemsOf([], env(dir, { ENTITLEMENT_FILE: join(dir, 'entitlement.json', 'x.json') }));
    expect(problems[0]).toContain('does not exist');
    expect(again[0]).toContain('is not a directory');
  });

  it('refuses unknown flags and stray arguments', () => {
    const dir = tempDir();
    const problems = problemsOf(['--product', 'x', 'extra'], env(dir));
    expect(problems.some((p) => p.startsWith('--product is not a flag of entitlement-sidecar run; its flags: ') && p.includes(' --product-code, '))).toBe(true);
    expect(problems.some((p) => p.startsWith('unexpected argument(s) "x" "extra": entitlement-sidecar run takes flags only'))).toBe(true);
  });

  it.each([
    ['0.0.0.0:9798', 'the IPv4 wildcard'],
    ['[::]:9798', 'the IPv6 wildcard'],
    ['0:0', 'host "0", which the resolver turns into 0.0.0.0'],
    ['0.0.0.00:0', 'a zero-padded wildcard'],
    ['[::0]:0', 'the IPv6 wildcard spelled ::0'],
    ['[0:0:0:0:0:0:0:0]:0', 'the IPv6 wildcard spelled out'],
    ['10.1.2.3:9798', "a host's own non-loopback address"],
    ['127.1:9798', 'a short form of 127.0.0.1 the resolver would accept'],
    ['localhost:9798', 'a host name (resolved only at bind time)'],
    ['[::ffff:0.0.0.0]:9798', 'an IPv4-mapped wildcard'],
  ])('refuses ENTITLEMENT_USAGE_LISTEN=%s (%s): the usage intake must be on loopback', (listen) => {
    const dir = tempDir();
    const problems = problemsOf([], env(dir, { MARKETPLACE_USAGE_DIMENSIONS: 'gb', ENTITLEMENT_USAGE_LISTEN: listen }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ENTITLEMENT_USAGE_LISTEN must be a loopback IP address/);
  });

  it.each([
    ['127.0.0.1:9798', '127.0.0.1'],
    ['127.12.0.9:0', '127.12.0.9'],
    ['[::1]:9798', '::1'],
    ['[0:0:0:0:0:0:0:1]:9798', '::1'],
    ['[0000::1]:9798', '::1'],
  ])('accepts ENTITLEMENT_USAGE_LISTEN=%s and binds the canonical %s', (listen, host) => {
    const dir = tempDir();
    const c = loadSidecarConfig([], env(dir, { MARKETPLACE_USAGE_DIMENSIONS: 'gb', ENTITLEMENT_USAGE_LISTEN: listen }));
    expect(c.usage?.listen.host).toBe(host);
  });

  it('refuses a key file that is a device, a FIFO, a directory or huge, at once and with the reason', () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'fifo.pem')]);
    mkdirSync(join(dir, 'dir.pem'));
    writeFileSync(join(dir, 'huge.pem'), `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(53 * 1024 * 1024)}\n`);
    symlinkSync('/dev/zero', join(dir, 'zero.pem'));
    const problem = (file: string) => problemsOf([], env(dir, { MARKETPLACE_PUBLIC_KEY: undefined, MARKETPLACE_PUBLIC_KEY_FILE: file }));
    expect(problem('/dev/zero')).toEqual(["MARKETPLACE_PUBLIC_KEY_FILE /dev/zero is a character device, not a regular file; give the path of the product's public key PEM"]);
    // A ConfigMap mount is a link: followed, and still refused for what it points at.
    expect(problem(join(dir, 'zero.pem'))[0]).toContain('is a character device, not a regular file');
    expect(problem(join(dir, 'fifo.pem'))[0]).toContain('is a FIFO, not a regular file');
    expect(problem(join(dir, 'dir.pem'))[0]).toContain('is a directory, not a regular file');
    expect(problem(join(dir, 'huge.pem'))[0]).toContain('is larger than 16384 bytes, far more than a PEM public key');
  });

  it('refuses a MARKETPLACE_PUBLIC_KEY far larger than any PEM public key', () => {
    const dir = tempDir();
    const problems = problemsOf([], env(dir, { MARKETPLACE_PUBLIC_KEY: `${key.publicPem}${' '.repeat(20_000)}` }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^MARKETPLACE_PUBLIC_KEY is \d+ bytes; a PEM public key is at most 16384/);
  });
});
