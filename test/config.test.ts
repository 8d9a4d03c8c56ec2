import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSidecarConfig } from '../src/config.js';
import { rsaKeyPair } from './helpers/keys.js';
import { tempDir } from './helpers/tmp.js';

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

describe('loadSidecarConfig', () => {
  it('applies the documented defaults and returns a frozen config', () => {
    const dir = tempDir();
    const c = loadSidecarConfig([], env(dir));
    expect(c).toMatchObject({
      productCode: 'prod-abc123',
      publicKeyVersion: 1,
      listen: { host: '0.0.0.0', port: 9797 },
      registerDeadlineMs: 30 * 60_000,
      logLevel: 'info',
      kubernetesStatus: 'auto',
      trustedProductCodes: undefined,
    });
    expect(c.publicKey.bits).toBe(2048);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('lets flags override the environment', () => {
    const dir = tempDir();
    const c = loadSidecarConfig(['--product-code', 'other', '--listen=127.0.0.1:0', '--register-deadline', '90s'], env(dir));
    expect(c.productCode).toBe('other');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.registerDeadlineMs).toBe(90_000);
  });

  it('reads the key from MARKETPLACE_PUBLIC_KEY_FILE', () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, key.publicPem);
    const c = loadSidecarConfig([], env(dir, { MARKETPLACE_PUBLIC_KEY: undefined, MARKETPLACE_PUBLIC_KEY_FILE: keyFile }));
    expect(c.publicKeySource).toBe(keyFile);
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
    expect(c.trustedProductCodes).toEqual(['other', 'prod-abc123']);
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
    expect(problems.some((p) => p.startsWith('--product is not a known flag'))).toBe(true);
    expect(problems.some((p) => p.startsWith('unexpected argument(s): x extra'))).toBe(true);
  });
});
