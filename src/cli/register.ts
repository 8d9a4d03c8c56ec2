import { ConfigError, DEFAULT_TERMINATION_MESSAGE_PATH, loadSidecarConfig } from '../config/settings.js';
import { createLogger, logProcessWarnings } from '../shared/logger.js';
import { scrubSecrets } from '../shared/scrub.js';
import { writeTerminationMessage } from '../shared/termination-message.js';
import { sidecarVersion } from '../shared/version.js';
import { initModeRefusal, registerOnce, REGISTER_EXIT_CODES, SIGNAL_EXIT_CODES, terminationMessage } from '../sidecar/register.js';

/**
 * `register`: init mode. Exits 0 when the pod is entitled and the documented non-zero code otherwise
 * (REGISTER_EXIT_CODES), with the operator's message in the container's termination message, so
 * `kubectl describe pod` shows why the app never started.
 */

/** Exit code of a configuration `register` cannot run with (the CLI's code for invalid configuration). */
export const CONFIG_EXIT_CODE = 2;

export async function runRegisterCommand(argv: readonly string[], env: NodeJS.ProcessEnv, err: (line: string) => void): Promise<number> {
  let config;
  try {
    config = loadSidecarConfig(argv, env, 'register');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    createLogger('info').fatal({ problems: e.problems }, 'invalid configuration; not starting');
    err(e.message);
    // The path may be what is wrong; the default is where Kubernetes looks unless the pod says otherwise.
    const given = env.ENTITLEMENT_TERMINATION_MESSAGE_PATH;
    const path = given !== undefined && given.startsWith('/') ? given : DEFAULT_TERMINATION_MESSAGE_PATH;
    await writeTerminationMessage(path, `misconfigured (CONFIG_INVALID): ${scrubSecrets(e.message, 3000)}`);
    return CONFIG_EXIT_CODE;
  }
  const logger = createLogger(config.logLevel);
  logProcessWarnings(logger);
  const refusal = initModeRefusal(config);
  if (refusal !== undefined) {
    logger.fatal({ command: 'register' }, `invalid configuration; not starting: ${refusal}`);
    err(refusal);
    await writeTerminationMessage(config.terminationMessagePath, `misconfigured (CONFIG_INVALID): ${refusal}`);
    return CONFIG_EXIT_CODE;
  }
  const controller = new AbortController();
  let stoppedBy: 'SIGTERM' | 'SIGINT' | undefined;
  const stop = (sig: 'SIGTERM' | 'SIGINT') => {
    if (controller.signal.aborted) return;
    stoppedBy = sig;
    logger.info({ signal: sig }, 'stopping before an outcome');
    controller.abort();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const snapshot = await registerOnce({ config, env, logger, signal: controller.signal, version: sidecarVersion() });
  const code: number =
    snapshot === undefined
      ? SIGNAL_EXIT_CODES[stoppedBy ?? 'SIGTERM']
      : snapshot.status === 'pending'
        ? REGISTER_EXIT_CODES.failed
        : REGISTER_EXIT_CODES[snapshot.status];
  const message = scrubSecrets(terminationMessage(snapshot, stoppedBy), 3500);
  const written = await writeTerminationMessage(config.terminationMessagePath, message);
  logger.info(
    {
      status: snapshot?.status,
      code: snapshot?.code,
      exitCode: code,
      terminationMessage: written.written ? config.terminationMessagePath : `not written (${written.why})`,
    },
    'register exiting',
  );
  return code;
}
