import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

/**
 * The buyer's license Secret as Kubernetes mounts it: each key a link into a timestamped directory
 * (`license_token` -> `..2026_12_01_.../license_token`), in a temporary directory removed after the test.
 */
export function mountSecret(files: Record<string, string>): string {
  const dir = tempDir();
  const data = join(dir, '..2026_12_01_00_00_00.000000001');
  mkdirSync(data);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(data, name), content);
    symlinkSync(join('..2026_12_01_00_00_00.000000001', name), join(dir, name));
  }
  return dir;
}
