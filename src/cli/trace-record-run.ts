/**
 * `nativeip trace record`: the I/O half. Watches the pods (src/kube), appends each event to the
 * file as it happens (one write per batch of whole lines, so a killed recorder leaves a valid
 * JSONL file missing at most what it was writing), shows a progress line on stderr, and stops at
 * --duration, on SIGINT or SIGTERM, or when its signal aborts.
 */
import { closeSync, existsSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { pino } from 'pino';
import { PodTraceWatch } from '../kube/index.js';
import type { TraceEvent } from '../sim/traces.js';
import {
  chooseTraceEndpoint,
  formatLogLine,
  formatProgress,
  formatSummary,
  parseTraceRecordArgs,
  TraceRecordUsageError,
  type RecordingState,
  type TraceRecordRequest,
} from './trace-record.js';
import { formatTraceLine, TraceRecorder, type PodSource, type TraceStats } from './trace-recorder.js';

export interface RecordTraceOptions {
  readonly request: TraceRecordRequest;
  readonly source: PodSource;
  /** Where the progress and messages go (stderr). */
  readonly progress: ProgressLine;
  /** Monotonic milliseconds. Default performance.now. */
  readonly now?: () => number;
  /** Aborting stops the recording as SIGINT does; its reason (a string) names the cause in the summary. */
  readonly signal?: AbortSignal;
}

export interface TraceRecordOutcome {
  readonly stats: TraceStats;
  /** Seconds from t = 0 (the first full listing) to the stop; 0 if the listing never completed. */
  readonly elapsedSec: number;
  /** `duration`, `SIGINT`, `SIGTERM`, or the abort's reason. */
  readonly stoppedBy: string;
}

/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Records until stopped and returns what was written. Throws (before creating the file) when
 * the API server cannot be listed or the signal aborts before it answers, and when the file
 * cannot be opened or written.
 */
export async function recordTrace(options: RecordTraceOptions): Promise<TraceRecordOutcome> {
  const { request, source, progress } = options;
  const now = options.now ?? (() => performance.now());
  await untilAborted(source.check(), options.signal, (reason) => `stopped by ${reason} before ${source.description} answered`);
  let fd: number;
  try {
    fd = openSync(request.out, 'w');
  } catch (error) {
    throw new Error(`cannot write ${request.out}: ${(error as Error).message}`, { cause: error });
  }
  const recorder = new TraceRecorder(request.nodes);
  const nowSec = () => now() / 1000;
  let state: RecordingState = 'listing';
  let stopping = false;
  let writeError: Error | undefined;
  let durationTimer: NodeJS.Timeout | undefined;
  let finish: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    finish = (reason) => {
      if (stopping) return;
      stopping = true;
      resolve(reason);
    };
  });

  const write = (events: readonly TraceEvent[]) => {
    if (events.length === 0 || writeError !== undefined) return;
    try {
      writeAll(fd, events.map((e) => `${formatTraceLine(e)}\n`).join(''));
    } catch (error) {
      writeError = new Error(`cannot write ${request.out}: ${(error as Error).message}`, { cause: error });
      finish('a write error');
    }
  };
  const draw = () => progress.show(formatProgress({ state, elapsedSec: recorder.elapsed(nowSec()), durationSec: request.durationSec, stats: recorder.stats() }));
  const armDuration = (endSec: number) => {
    const leftMs = (endSec - nowSec()) * 1000;
    if (leftMs <= 0) return finish('duration');
    durationTimer = setTimeout(() => armDuration(endSec), Math.min(leftMs, MAX_TIMER_MS));
  };

  const onAbort = () => finish(typeof options.signal?.reason === 'string' ? options.signal.reason : 'abort');
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  progress.message(`trace record: recording the pods on ${source.description} into ${request.out}`);
  progress.start(draw);
  source.start({
    pod: (pod) => {
      if (!stopping) write(recorder.observe(pod, nowSec()));
    },
    podGone: (pod) => {
      if (!stopping) write(recorder.gone(pod, nowSec()));
    },
    node: (name) => {
      if (stopping || !recorder.selectNode(name)) return;
      for (const pod of source.pods()) if (pod.node === name) write(recorder.observe(pod, nowSec()));
    },
    synced: (synced) => {
      if (synced && !recorder.started) {
        recorder.begin(nowSec());
        if (request.durationSec !== undefined) armDuration(nowSec() + request.durationSec);
      }
      const next: RecordingState = synced ? 'recording' : recorder.started ? 'relisting' : 'listing';
      if (next === state) return;
      state = next;
      // A log without a terminal hears of every break and recovery too.
      if (recorder.started) draw();
    },
  });

  let stoppedBy: string;
  try {
    stoppedBy = await stopped;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (durationTimer !== undefined) clearTimeout(durationTimer);
    await source.close();
    progress.stop();
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  if (writeError !== undefined) throw writeError;
  return { stats: recorder.stats(), elapsedSec: recorder.elapsed(nowSec()), stoppedBy };
}

/** `work`, unless `signal` aborts first: then an error made by `message` from the abort's reason. */
async function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, message: (reason: string) => string): Promise<T> {
  if (signal === undefined) return work;
  const reason = () => (typeof signal.reason === 'string' ? signal.reason : 'abort');
  if (signal.aborted) throw new Error(message(reason()));
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(message(reason())));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * The progress line on stderr: on a terminal one line redrawn in place (messages are printed
 * above it), elsewhere a plain line every period.
 */
export class ProgressLine {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | undefined;
  #shown = '';

  /** `everyMs`: how often the line is redrawn; default 1 s on a terminal, 60 s otherwise. */
  constructor(stream: ProgressStream, everyMs?: number) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#everyMs = everyMs ?? (this.#tty ? 1_000 : 60_000);
  }

  /** Draws now and every period. The timer is not unref'd: it keeps the process alive while the watch waits to retry. */
  start(draw: () => void): void {
    draw();
    this.#timer = setInterval(draw, this.#everyMs);
  }

  show(line: string): void {
    if (this.#tty) {
      this.#stream.write(`\r${line}\x1b[K`);
      this.#shown = line;
    } else {
      this.#stream.write(`${line}\n`);
    }
  }

  /** A line of its own (above the progress line on a terminal). */
  message(text: string): void {
    if (this.#tty && this.#shown !== '') {
      this.#stream.write(`\r\x1b[K${text}\n${this.#shown}\x1b[K`);
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#tty && this.#shown !== '') this.#stream.write('\r\x1b[K');
    this.#shown = '';
  }
}

/**
 * `nativeip trace <subcommand>`: parses, connects, records until stopped, prints the summary on
 * stdout. Returns the exit code; throws TraceRecordUsageError for bad arguments.
 */
export async function runTraceCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...args] = argv;
  if (sub !== 'record') throw new TraceRecordUsageError(sub === undefined ? 'give a subcommand: trace record' : `unknown subcommand ${JSON.stringify(sub)} (known: record)`);
  const request = parseTraceRecordArgs(args);
  const endpoint = chooseTraceEndpoint({ flag: request.kubeconfig, env: process.env, exists: existsSync });
  const progress = new ProgressLine(process.stderr);
  // The watch's warnings (a break, a relist) as plain lines above the progress line.
  const logger = pino({ level: 'warn', base: null, timestamp: false }, { write: (line: string) => progress.message(formatLogLine(line)) });
  const source = new PodTraceWatch({ endpoint, nodes: request.nodes, logger });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const outcome = await recordTrace({ request, source, progress, signal: controller.signal });
    process.stdout.write(`${formatSummary({ out: request.out, ...outcome })}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
