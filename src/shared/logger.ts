import { pino, type DestinationStream, type Logger } from 'pino';
import { serializeError } from './scrub.js';

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
