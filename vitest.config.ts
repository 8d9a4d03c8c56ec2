import { defineConfig } from 'vitest/config';

/**
 * Four projects, one per kind of test (folders under test/, each mirroring src/'s layers):
 * - unit: pure code and local files, no sockets to servers of ours, no child processes; seconds.
 * - integration: in-process, over real HTTP on loopback: the real AWS SDK against the emulator, the
 *   real Kubernetes client against a stand-in API server, the sidecar in-process.
 * - process: real processes: the built CLI (exit codes, signals, kill -9), AWS's own CLI and boto3.
 * - deploy: the image (podman), the charts (helm), the ECS task definition (botocore's model).
 * `npm test` runs all four; `npm run test:unit` only the first.
 */
const project = (name: string, timeoutMs: number) => ({
  extends: true as const,
  test: { name, include: [`test/${name}/**/*.test.ts`], testTimeout: timeoutMs, hookTimeout: timeoutMs },
});

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [project('unit', 10_000), project('integration', 30_000), project('process', 30_000), project('deploy', 30_000)],
  },
});
