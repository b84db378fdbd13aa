/**
 * The plugin's log: JSON lines appended to `logFile`, or nothing. Never stdout (that is the CNI
 * result) and never a reason to fail a CNI call.
 */

import type { LogLevel } from './config.js';

export type LogFields = Readonly<Record<string, unknown>>;

export interface PluginLog {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A log that adds `fields` to every record. */
  child(fields: LogFields): PluginLog;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface FileLogOptions {
  readonly file: string;
  readonly level: LogLevel;
  /** Appends one line to the file (synchronously: the process exits right after the call). */
  readonly append: (file: string, line: string) => void;
  readonly now: () => number;
}

export function createFileLog(options: FileLogOptions, base: LogFields = {}): PluginLog {
  const write = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (RANK[level] < RANK[options.level]) return;
    const record = { time: new Date(options.now()).toISOString(), level, msg, ...base, ...fields };
    try {
      options.append(options.file, `${JSON.stringify(record, replaceErrors)}\n`);
    } catch {
      // A full disk or a bad path must not turn a working ADD into a failure.
    }
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createFileLog(options, { ...base, ...fields }),
  };
}

export const silentLog: PluginLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLog,
};

function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
