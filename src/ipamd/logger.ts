/**
 * The daemon's pino logger. Created once in main and passed down; nothing here runs on import.
 */

import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export interface LoggerOptions {
  /** Least severe level written; `silent` writes nothing (tests). */
  readonly level: LogLevel | 'silent';
  /** `stderr` (default) or an absolute file path, appended to and created with its directory. */
  readonly destination?: string;
}

/** Keys whose values never reach a log line: cloud credentials, tokens, passwords. */
const SECRET_KEYS = [
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'password',
  'accessToken',
  'access_token',
  'clientSecret',
] as const;

const SECRET_HEADERS = ['authorization', '"x-amz-security-token"', '"x-ms-authorization-auxiliary"'];

/**
 * Redacted paths. pino's `*` matches one level, so each key is listed at the top level and one
 * level down, and headers at one and two levels (`headers.x`, `req.headers.x`).
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
  ...SECRET_HEADERS.flatMap((header) => {
    const access = header.startsWith('"') ? `[${header}]` : `.${header}`;
    return [`headers${access}`, `*.headers${access}`];
  }),
];

export const REDACTION_CENSOR = '[redacted]';

/**
 * Creates the logger. Opening a file destination happens here, synchronously, so a path that
 * cannot be written fails at start-up with the file system's error rather than later.
 * Writes are synchronous: a daemon that crashes still leaves its last lines.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? 'stderr';
  const stream =
    destination === 'stderr'
      ? pino.destination({ fd: 2, sync: true })
      : pino.destination({ dest: destination, sync: true, append: true, mkdir: true });
  return pino(
    {
      level: options.level,
      redact: { paths: [...REDACTED_PATHS], censor: REDACTION_CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}
