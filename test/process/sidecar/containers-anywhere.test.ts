/**
 * Outside AWS (Containers Anywhere), as real processes: the built CLI with nothing but the buyer's
 * license Secret mounted (a directory of links, as Kubernetes mounts it) and the endpoints of the
 * emulator, no AWS keys anywhere in its environment. The emulator runs on the machine's clock, as the
 * processes do; its STS hands out credentials of a few seconds, so refreshes happen within a test.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator, RoleSpec } from '../../../src/emulator/index.js';
import { emulator } from '../../helpers/emulator.js';
import { startCli, type CliProcess } from '../../helpers/process.js';
import { switchableProxy } from '../../helpers/switchable-proxy.js';
import { mountSecret } from '../../helpers/license-secret.js';
import { tempDir } from '../../helpers/tmp.js';

const SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ACCOUNT = '210987654321';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/AWSLicenseManagerConsumptionRole`;
const role = (o: Partial<RoleSpec> = {}): RoleSpec => ({ roleArn: ROLE, trustsLicenseManager: true, issuerAccountId: ACCOUNT, ...o });

async function anywhere(o: { roles?: RoleSpec[]; stsTtl?: number } = {}) {
  const emu = await emulator(
    {},
    {
      licenses: [{ beneficiaryAccountId: ACCOUNT, productSku: SKU, entitlements: [{ name: 'PremiumTier', unit: 'None' }] }],
      roles: o.roles ?? [role()],
      ...(o.stsTtl === undefined ? {} : { stsCredentialsTtlSeconds: o.stsTtl, accessTokenTtlSeconds: o.stsTtl }),
    },
  );
  const { licenseToken } = emu.issueLicenseToken({ accountId: ACCOUNT, roleArn: ROLE });
  return { emu, licenseToken, secret: mountSecret({ license_token: licenseToken, iam_role: ROLE }) };
}

/** A pod off AWS: no keys, no IRSA, no task role, no instance metadata; only the Secret and a region. */
function podEnv(emu: Emulator, secret: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dir = tempDir();
  return {
    HOME: dir,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_LICENSE_MANAGER: emu.url,
    AWS_ENDPOINT_URL_STS: emu.url,
    // Where instance metadata would be: a port nothing listens on. Off AWS the sidecar must not ask it.
    AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1',
    ENTITLEMENT_SOURCE: 'license-manager',
    MARKETPLACE_PRODUCT_SKU: SKU,
    MARKETPLACE_LICENSE_ENTITLEMENTS: 'BasicTier:None,PremiumTier:None',
    ENTITLEMENT_LICENSE_TOKEN_DIR: secret,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
    ...extra,
  };
}

async function healthz(p: CliProcess): Promise<{ status: number; text: string }> {
  const start = await p.waitForLine((l) => l.msg === 'entitlement sidecar starting');
  const port = String(start.listen).split(':').pop();
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, text: await res.text() };
}

const assumed = (emu: Emulator) => emu.calls().filter((c) => c.operation === 'AssumeRoleWithWebIdentity').length;

describe('outside AWS: the license token instead of IRSA or a task role', () => {
  it('is entitled through the token chain, knows its tier, and shows the token nowhere', async () => {
    const { emu, licenseToken, secret } = await anywhere();
    const p = startCli(['run'], podEnv(emu, secret));
    await p.waitForLine((l) => l.msg === 'entitled');
    expect(p.lines().find((l) => typeof l.credentialSource === 'string')).toMatchObject({ credentialSource: 'license-token' });
    const h = await healthz(p);
    expect(h.status).toBe(200);
    expect(JSON.parse(h.text)).toMatchObject({ status: 'entitled', entitlement: { entitlements: [{ name: 'PremiumTier' }] } });
    // IMDS was never asked (its endpoint would have refused, and the region came from AWS_REGION).
    expect(p.lines().find((l) => l.msg === 'region resolved')).toMatchObject({ region: 'us-east-1' });
    const metricsPort = String(p.lines().find((l) => l.msg === 'entitlement sidecar starting')?.listen).split(':').pop();
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    for (const text of [p.stdout(), p.stderr(), h.text, metrics]) {
      expect(text).not.toContain(licenseToken);
      for (const part of licenseToken.split('.')) expect(text).not.toContain(part);
    }
    expect(emu.consumptions().filter((c) => c.active)).toHaveLength(0);
  });

  it('refreshes its credentials across their expiry while it runs, without taking a second seat', async () => {
    const { emu, secret } = await anywhere({ stsTtl: 4 });
    const p = startCli(['run'], podEnv(emu, secret, { ENTITLEMENT_LICENSE_CHECK_INTERVAL: '1s' }));
    await p.waitForLine((l) => l.msg === 'entitled');
    const before = assumed(emu);
    // Checks every second with credentials that live 4 s: several refreshes, each a new exchange.
    await expect.poll(() => assumed(emu), { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(before + 3);
    expect(emu.consumptions()).toHaveLength(1);
    expect(emu.consumptions()[0]?.active).toBe(true);
    expect(p.lines().some((l) => l.level === 'error')).toBe(false);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  });

  it('a revoked license token: the pod stops being entitled at the next refresh, with the action', async () => {
    const { emu, licenseToken, secret } = await anywhere({ stsTtl: 4 });
    const p = startCli(['run'], podEnv(emu, secret, { ENTITLEMENT_LICENSE_CHECK_INTERVAL: '1s' }));
    await p.waitForLine((l) => l.msg === 'entitled');
    emu.revokeLicenseToken(licenseToken);
    const line = await p.waitForLine((l) => l.code === 'LICENSE_TOKEN_REJECTED' && l.level === 'error', 20_000);
    expect(line).toMatchObject({ level: 'error', status: 'misconfigured' });
    expect(String(line.action)).toMatch(/new license token/);
    const h = await healthz(p);
    expect(h.status).toBe(503);
    expect(JSON.parse(h.text)).toMatchObject({ code: 'LICENSE_TOKEN_REJECTED' });
  });

  it('a role that does not trust License Manager: misconfigured at start, naming the role', async () => {
    const { emu, secret } = await anywhere({ roles: [role({ trustsLicenseManager: false })] });
    const p = startCli(['run'], podEnv(emu, secret));
    const line = await p.waitForLine((l) => l.code === 'LICENSE_ROLE_REJECTED');
    expect(String(line.msg)).toContain(ROLE);
    expect(String(line.action)).toContain('openid-license-manager.amazonaws.com');
    expect((await healthz(p)).status).toBe(503);
  });

  it('no region off AWS: a clear message at once, not an IMDS timeout', async () => {
    const { emu, secret } = await anywhere();
    const env = podEnv(emu, secret);
    delete env.AWS_REGION;
    const p = startCli(['run'], env);
    const line = await p.waitForLine((l) => l.code === 'REGION_UNRESOLVED');
    expect(String(line.msg)).toMatch(/outside AWS .* set AWS_REGION/);
    expect(String(line.msg)).toContain('IMDS: disabled');
  });

  it('STS unreachable, then back: the last good license stays in force (stale), then fresh again', async () => {
    const { emu, secret } = await anywhere({ stsTtl: 4 });
    const sts = await switchableProxy(emu.url);
    const p = startCli(['run'], podEnv(emu, secret, { AWS_ENDPOINT_URL_STS: sts.url, ENTITLEMENT_LICENSE_CHECK_INTERVAL: '1s' }));
    await p.waitForLine((l) => l.msg === 'entitled');
    await sts.down();
    const stale = await p.waitForLine((l) => String(l.msg).includes('could not be reached'), 20_000);
    // The warning is logged as the sidecar turns stale; /healthz follows once the file is rewritten.
    await expect.poll(async () => JSON.parse((await healthz(p)).text).code, { timeout: 5000, interval: 100 }).toBe('LICENSE_STALE');
    const during = await healthz(p);
    expect(during.status).toBe(200);
    expect(JSON.parse(during.text)).toMatchObject({ status: 'entitled', code: 'LICENSE_STALE', entitlement: { stale: true } });
    await sts.up();
    await p.waitForLine((l) => l.msg === 'entitled' && Date.parse(String(l.time)) > Date.parse(String(stale.time)), 20_000);
    expect(JSON.parse((await healthz(p)).text)).toMatchObject({ code: 'ENTITLED', entitlement: { stale: false } });
    expect(emu.consumptions().filter((c) => c.active)).toHaveLength(1);
  });
});
