#!/usr/bin/env node
// Bundles the CLI (src/cli/main.ts and everything it imports, AWS SDK, pino, jose, the emulator...) into
// dist/bundle/: the entry entitlement-sidecar.mjs plus chunks/, so the image's last stage needs no
// node_modules. Code splitting keeps what a command does not use out of its start-up: `check` loads no
// AWS SDK, and @kubernetes/client-node (about 70 MiB and half a second to load) is read only when the
// sidecar runs in a cluster.
//
//   node scripts/bundle.mjs            (npm run bundle)
//
// The bundle holds code only: no environment, no credentials, no files read at build time other than
// the sources and package.json's version.
import { build } from 'esbuild';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const outfile = join(outdir, 'entitlement-sidecar.mjs');
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));

// CommonJS dependencies bundled into ESM still call require() for Node built-ins and use
// __filename/__dirname; give them the real ones.
const banner = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  "import { dirname as __bundleDirname } from 'node:path';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);',
].join('\n');

// Node's built-in modules, imported from ESM, are reached through require() instead. An ESM import of a
// built-in makes Node build a module facade that reads every export once, lazy getters included: for
// node:http that loads Node's bundled undici (the WebSocket/fetch client), about 20 ms of every start on
// Node 24, for a client the sidecar never uses. require() returns the same object without the facade;
// esbuild's CommonJS interop turns the named imports into property reads of it.
const BUILTIN = /^node:|^(assert|buffer|child_process|crypto|dns|events|fs|fs\/promises|http|https|http2|net|os|path|perf_hooks|process|stream|stream\/promises|string_decoder|timers|timers\/promises|tls|url|util|worker_threads|zlib)$/;
const builtinsThroughRequire = {
  name: 'builtins-through-require',
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) => (args.kind === 'import-statement' || args.kind === 'dynamic-import' ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`, loader: 'js' }));
  },
};

// Chunk names carry content hashes: a stale chunk from an earlier build must not ship beside the new ones.
await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { 'entitlement-sidecar': 'src/cli/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner: { js: banner },
  // src/version.ts reads this instead of ../package.json, which is not in the image.
  define: { __SIDECAR_VERSION__: JSON.stringify(pkg.version) },
  // Minified: parsing is most of start-up; this takes about 30 ms off every start.
  minify: true,
  keepNames: true,
  sourcemap: false,
  legalComments: 'eof',
  metafile: true,
  plugins: [builtinsThroughRequire],
  logLevel: 'warning',
});

// What went into which file, for `npx esbuild --analyze`-style questions (which chunk a start loads); not shipped.
await writeFile(join(root, 'dist', 'bundle.meta.json'), JSON.stringify(result.metafile));
const { size } = await stat(outfile);
const inputs = Object.keys(result.metafile.inputs).length;
const total = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.log(
  `bundled ${inputs} modules into ${relative(root, outdir)}/: entry ${relative(root, outfile)} (${(size / 1024).toFixed(0)} KiB), ` +
    `${Object.keys(result.metafile.outputs).length} files, ${(total / 1024).toFixed(0)} KiB in all`,
);
