#!/usr/bin/env node
// Each command loads only what it uses: `check` runs every few seconds as a health check and must
// not pay for the AWS SDK, and the sidecar need not parse the emulator.
import { sidecarVersion } from '../shared/version.js';

export const COMMANDS = ['run', 'register', 'check', 'verify', 'emulator', 'version', 'help'] as const;

const USAGE = `Usage: entitlement-sidecar [command] [--flag value ...]

Commands:
  run        (default) call RegisterUsage, verify the token, write the entitlement file, serve /healthz
  register   init mode for hourly products without usage metering: the same, once, then exit
             (0 entitled, 3 not entitled, 4 platform not supported, 5 misconfigured, 6 failed)
  check      exit 0 if the local /healthz answers 200, else 1 (for health checks without a shell)
  verify     re-verify an entitlement file offline with the product's public key
  emulator   run a local AWS Marketplace Metering API endpoint for tests and demos
  version    print the version

Every setting is an environment variable and a flag; see the README.`;

/** Lets a pending log line reach stdout, then exits even if something still holds the event loop. */
function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1500).unref();
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const env = process.env;
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  let rest = argv;
  let command: string = 'run';
  if (rest[0] !== undefined && !rest[0].startsWith('-')) {
    command = rest[0];
    rest = rest.slice(1);
  }
  switch (command) {
    case 'register': {
      const { runRegisterCommand } = await import('./register.js');
      return runRegisterCommand(rest, env, err);
    }
    case 'run': {
      const [{ ConfigError, loadSidecarConfig }, { createLogger, logProcessWarnings }, { runSidecar, stopBudgetMs }, { ListenError }] = await Promise.all([
        import('../config/settings.js'),
        import('../shared/logger.js'),
        import('../sidecar/run.js'),
        import('../shared/http.js'),
      ]);
      let config;
      try {
        config = loadSidecarConfig(rest, env);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        createLogger('info').fatal({ problems: e.problems }, 'invalid configuration; not starting');
        err(e.message);
        return 2;
      }
      const logger = createLogger(config.logLevel);
      logProcessWarnings(logger);
      const controller = new AbortController();
      const stop = (sig: NodeJS.Signals) => {
        if (controller.signal.aborted) return;
        logger.info({ signal: sig }, 'stopping');
        controller.abort();
        // SIGTERM ends the process in time whatever still holds the event loop: 2 s, or, with usage
        // metering, long enough to send the pod's current hour first.
        setTimeout(() => process.exit(0), stopBudgetMs(config)).unref();
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      try {
        await runSidecar({ config, env, logger, signal: controller.signal, version: sidecarVersion() });
      } catch (e) {
        if (!(e instanceof ListenError)) throw e;
        logger.fatal({ setting: e.setting, code: e.code }, `invalid configuration; not starting: ${e.message}`);
        return 2;
      }
      return 0;
    }
    case 'check': {
      const { runCheckCommand } = await import('./check.js');
      return runCheckCommand(rest, env, log);
    }
    case 'verify': {
      const { runVerifyCommand } = await import('./verify.js');
      return runVerifyCommand(rest, env, log, err);
    }
    case 'emulator': {
      const { runEmulatorCommand } = await import('./emulator.js');
      return runEmulatorCommand([...rest], env);
    }
    case 'version':
      log(sidecarVersion());
      return 0;
    case 'help':
    case '--help':
      log(USAGE);
      return 0;
    default:
      err(`unknown command "${command}"; commands: ${COMMANDS.join(', ')}`);
      err(USAGE);
      return 2;
  }
}

runCommand(process.argv.slice(2)).then(
  (code) => exitSoon(code),
  (e: unknown) => {
    process.stderr.write(`entitlement-sidecar: unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    exitSoon(1);
  },
);
