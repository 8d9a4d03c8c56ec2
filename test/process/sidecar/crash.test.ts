import { existsSync, readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyEntitlementFile } from '../../../src/entitlement/verify-file.js';
import { emulator, sidecarAwsEnv } from '../../helpers/emulator.js';
import { startCli } from '../../helpers/process.js';
import { tempDir } from '../../helpers/tmp.js';

const PRODUCT = 'prod-abc123';

describe('kill -9 while the entitlement file is being written', () => {
  it('leaves the file absent or complete and valid, and a restart in the same pod recovers', async () => {
    const emu = await emulator({ rateLimit: null });
    const rounds = 12;
    let caughtMidWrite = 0;
    for (let round = 0; round < rounds; round++) {
      const dir = tempDir();
      const file = join(dir, 'entitlement.json');
      const env = {
        ...sidecarAwsEnv(emu, dir),
        MARKETPLACE_PRODUCT_CODE: PRODUCT,
        MARKETPLACE_PUBLIC_KEY: emu.publicKeyPem,
        ENTITLEMENT_FILE: file,
        ENTITLEMENT_LISTEN: '127.0.0.1:0',
      };
      const p = startCli(['run'], env);
      // SIGKILL the moment the writer's temporary file appears: between open() and rename().
      const killed = new Promise<void>((resolve) => {
        const watcher = watch(dir, (_event, name) => {
          if (name !== null && name.startsWith('.entitlement.json.') && name.endsWith('.tmp')) {
            p.child.kill('SIGKILL');
            watcher.close();
            resolve();
          }
        });
        p.exited.then(() => {
          watcher.close();
          resolve();
        });
      });
      await killed;
      expect((await p.exited).signal).toBe('SIGKILL');
      const leftovers = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
      if (leftovers.length > 0) caughtMidWrite++;
      if (existsSync(file)) {
        await expect(verifyEntitlementFile(file, { publicKey: emu.publicKeyPem, productCode: PRODUCT })).resolves.toMatchObject({ productCode: PRODUCT });
      }

      // The container restarts in the same pod: temporaries are cleaned up and the file ends valid.
      const again = startCli(['run'], env);
      await again.waitForLine((l) => l.msg === 'entitled');
      await expect(verifyEntitlementFile(file, { publicKey: emu.publicKeyPem, productCode: PRODUCT })).resolves.toMatchObject({ productCode: PRODUCT });
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      again.child.kill('SIGTERM');
      await again.exited;
    }
    process.stdout.write(`caught mid-write in ${caughtMidWrite} of ${rounds} rounds\n`);
    // The kill really landed inside the write at least once (a temporary file was left behind).
    expect(caughtMidWrite).toBeGreaterThan(0);
  }, 120_000);
});
