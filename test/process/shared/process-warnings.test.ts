/**
 * Node's warnings become JSON log lines: a fresh `node` (this process's own warning listeners are
 * vitest's) with the built logger, emitting the warning @kubernetes/client-node's modules emit on Node 24.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const LOGGER = fileURLToPath(new URL('../../../dist/shared/logger.js', import.meta.url));

async function emit(route: boolean) {
  const script = `
    import { createLogger, logProcessWarnings } from ${JSON.stringify(LOGGER)};
    const logger = createLogger('debug');
    if (${route}) logProcessWarnings(logger);
    process.emitWarning('The \`punycode\` module is deprecated.', 'DeprecationWarning', 'DEP0040');
    process.emitWarning('Possible EventEmitter memory leak detected', { type: 'MaxListenersExceededWarning', code: 'X_TEST' });
  `;
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH }, timeout: 20_000 });
  return { lines: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>), stderr };
}

describe('process warnings', () => {
  it('are JSON log lines, a deprecation at debug and any other warning at warn, and nothing on stderr', async () => {
    const { lines, stderr } = await emit(true);
    expect(stderr).toBe('');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'debug', msg: 'The `punycode` module is deprecated.', warning: { name: 'DeprecationWarning', code: 'DEP0040' } }),
      expect.objectContaining({ level: 'warn', msg: 'Possible EventEmitter memory leak detected', warning: { name: 'MaxListenersExceededWarning', code: 'X_TEST' } }),
    ]);
  });

  it('control: without it Node prints them as plain text on stderr', async () => {
    const { lines, stderr } = await emit(false);
    expect(lines).toEqual([]);
    expect(stderr).toContain('[DEP0040] DeprecationWarning: The `punycode` module is deprecated.');
  });
});
