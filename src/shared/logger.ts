import { pino, type DestinationStream, type Logger } from 'pino';
import { scrubSecrets, serializeError } from './scrub.js';

/**
 * JSON logs on stdout. Redaction is a second line of defence: no code path logs a credential or the
 * signed token on purpose, and these paths catch it if one ever does.
 */
export const REDACTED_PATHS = [
  'signature',
  '*.signature',
  'token',
  '*.token',
  'credentials',
  '*.credentials',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'entitlement-sidecar' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // An SDK error's message can quote the signed request (session token included): scrubbed, and
      // only the fields an operator needs, never the raw `$response`.
      serializers: { err: serializeError },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * The process's warnings (Node's, and those its dependencies emit: on Node 24 @kubernetes/client-node's
 * modules emit two deprecation warnings when loaded) as JSON log lines instead of Node's plain-text
 * lines on stderr, which a log pipeline that parses the sidecar's JSON cannot read. A deprecation in a
 * dependency is nothing an operator can act on: debug; any other warning: warn. Returns a function that
 * gives the warnings back to Node's own printer.
 */
export function logProcessWarnings(logger: Logger): () => void {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error & { code?: string }) => {
    const fields = { warning: { name: warning.name, code: warning.code } };
    const message = scrubSecrets(warning.message);
    if (warning.name === 'DeprecationWarning') logger.debug(fields, message);
    else logger.warn(fields, message);
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const printer of printers) process.on('warning', printer);
  };
}
