/**
 * The layers of src/ and the only directions imports may go (see the README's "Code map"). From the
 * top: cli (entry points) -> sidecar -> usage, k8s -> config -> aws -> entitlement -> shared. The
 * emulator is its own branch beside the sidecar: it may use config, aws, entitlement and shared, and
 * nothing of the sidecar. `npm test` runs this check before the suite; CI fails on any violation.
 */
const layer = (name, mayUse) => ({
  name: `${name}-imports-only-${mayUse.length === 0 ? 'itself' : mayUse.join('-')}`,
  comment: `src/${name}/ may import only ${['itself', ...mayUse].join(', ')}`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: { path: '^src/', pathNot: [`^src/${name}/`, ...mayUse.map((l) => `^src/${l}/`)] },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'no import circles anywhere', from: {}, to: { circular: true } },
    layer('shared', []),
    layer('entitlement', ['shared']),
    layer('aws', ['entitlement', 'shared']),
    layer('config', ['aws', 'entitlement', 'shared']),
    layer('usage', ['config', 'aws', 'entitlement', 'shared']),
    layer('k8s', ['config', 'entitlement', 'shared']),
    layer('sidecar', ['usage', 'k8s', 'config', 'aws', 'entitlement', 'shared']),
    layer('emulator', ['config', 'aws', 'entitlement', 'shared']),
    {
      name: 'library-is-the-entitlement-layer',
      comment: 'src/index.ts, what an app imports, re-exports the entitlement layer only',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/', pathNot: '^src/entitlement/' },
    },
    {
      name: 'library-stays-light',
      comment: 'the entitlement library loads no AWS SDK, Kubernetes client, logger or metrics into the paid app',
      severity: 'error',
      from: { path: '^src/entitlement/' },
      to: { path: 'node_modules/(@aws-sdk|@smithy|@kubernetes|pino|prom-client)/' },
    },
    {
      name: 'kubernetes-client-loaded-lazily',
      comment: '@kubernetes/client-node (0.5 s, 70 MiB) is imported only by the modules k8s/index.ts loads on the first outcome',
      severity: 'error',
      from: { pathNot: '^src/k8s/(api|reporter)\\.ts$' },
      to: { path: 'node_modules/@kubernetes/client-node/' },
    },
    {
      name: 'src-does-not-import-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
