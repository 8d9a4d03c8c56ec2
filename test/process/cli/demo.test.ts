/**
 * `npm run demo`, the first command of the README's quick start: the script package.json names, run as
 * a real process against its embedded emulator, tells the whole story and exits 0.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('npm run demo', () => {
  it('runs the script package.json names (after the build) and shows every scene', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    const script = /^npm run build --silent && node (\S+)$/.exec(pkg.scripts.demo ?? '')?.[1];
    expect(script, 'scripts.demo builds, then runs one file with node').toBeDefined();
    expect(existsSync(`${ROOT}${script}`)).toBe(true);
    const faketime = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FAKETIME_')));
    const child = spawn(process.execPath, [`${ROOT}${script}`], { cwd: ROOT, env: { PATH: process.env.PATH, ...faketime }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, out).toBe(0);
    for (const n of [1, 2, 3, 4, 5, 6]) expect(out).toMatch(new RegExp(`^== ${n}\\. `, 'm'));
    expect(out).toMatch(/entitlement-sidecar verify .* -> exit 0/);
    expect(out).toContain('GET /healthz -> 503 (the app container never starts)');
    expect(out).toContain('RegisterUsage calls made by the restarted sidecar: 0');
    expect(out).toContain('the tier the app reads from');
    expect(out).toContain('the tier the app reads now: PremiumTier');
    expect(out).toContain('seats still held after the pod stopped: 0');
    expect(out).toMatch(/^== Done$/m);
  }, 90_000);
});
