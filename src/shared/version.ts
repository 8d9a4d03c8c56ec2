import { readFileSync } from 'node:fs';

declare const __SIDECAR_VERSION__: string | undefined;

/** The package version: injected by the bundler in the image, else read from package.json. */
export function sidecarVersion(): string {
  if (typeof __SIDECAR_VERSION__ === 'string') return __SIDECAR_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
