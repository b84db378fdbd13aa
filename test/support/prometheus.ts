/**
 * The real Prometheus for tests: `promtool check metrics` on an exposition, and a Prometheus
 * server on 127.0.0.1 that scrapes given targets and answers PromQL queries.
 *
 *   const { ok, output } = await checkMetrics(text);   // promtool's verdict and what it printed
 *   const prom = await startPrometheus({ targets: ['127.0.0.1:9100'] });
 *   await prom.waitForQuery('nativeip_pods', (samples) => samples[0]?.value === 7, 30_000);
 *   await prom.stop();                                  // always, in afterAll / finally
 *
 * Built by scripts/install-prometheus.sh (scripts/setup.sh runs it), with the build tag
 * remove_all_sd: of the service discoveries only static_configs, file_sd and http_sd are there.
 * The server has no web UI (its assets are not in the Go module); its HTTP API works.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ManagedProcess, tailFile } from './kube/process.js';

/**
 * The version scripts/install-prometheus.sh builds. The two must agree (its PROMETHEUS_VERSION
 * line): test/integration/prometheus-tools.test.ts checks that they do.
 */
export const PROMETHEUS_VERSION = 'v3.16.0';

export type PrometheusBinary = 'prometheus' | 'promtool';

/** The directory holding `prometheus` and `promtool` (it may not exist yet). */
export function prometheusBin(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['NATIVEIP_CACHE'] ?? '/var/cache/nativeip', `prometheus-${PROMETHEUS_VERSION}`, 'bin');
}

/**
 * The path of one binary in `binDir`. Throws, naming the script that builds it, when it is
 * missing: the tests that need it fail rather than skip.
 */
export function prometheusBinary(name: PrometheusBinary, binDir = prometheusBin()): string {
  const path = join(binDir, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run 'bash scripts/setup.sh' (it runs scripts/install-prometheus.sh) to build Prometheus ${PROMETHEUS_VERSION}`);
  }
  return path;
}

export interface CheckMetricsResult {
  /** promtool exited 0: the exposition parses and has no lint problem. */
  readonly ok: boolean;
  /**
   * promtool's exit code: 0 fine, 3 lint problems (no HELP, a counter without `_total`...),
   * 1 the text does not parse; null when it was killed.
   */
  readonly exitCode: number | null;
  /** What promtool printed (stdout, then stderr: one `<metric> <problem>` line per lint problem). */
  readonly output: string;
}

/**
 * Pipes a text exposition to `promtool check metrics` (which lints as well as parses) and returns
 * its verdict with its output, for a failing test to print. Throws only when promtool is missing,
 * cannot be started or runs over `timeoutMs`.
 */
export function checkMetrics(exposition: string, timeoutMs = 30_000): Promise<CheckMetricsResult> {
  const promtool = prometheusBinary('promtool');
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`promtool check metrics did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${promtool} could not be started: ${error.message}`, { cause: error }));
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      const output = Buffer.concat([...stdout, ...stderr]).toString('utf8');
      resolve({ ok: exitCode === 0, exitCode, output });
    });
    child.stdin.on('error', () => undefined); // promtool may stop reading at a parse error
    child.stdin.end(exposition);
  });
}

export interface PrometheusOptions {
  /** What to scrape, as `host:port` (one static_configs job, `nativeip-test`). */
  readonly targets: readonly string[];
  /** Scrape interval (and timeout); default 1000 ms. */
  readonly scrapeIntervalMs?: number;
  /** Default `/metrics`. */
  readonly metricsPath?: string;
}

/** One element of an instant vector. */
export interface VectorSample {
  /** The series' labels, `__name__` included. */
  readonly metric: Readonly<Record<string, string>>;
  /** Evaluation time, in seconds since the epoch. */
  readonly timestamp: number;
  /** The float value (NaN and ±Infinity included). */
  readonly value: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The temporary directory: prometheus.yml, data-N/, prometheus-N.log (removed by stop()). */
  readonly dir: string;
  /** Evaluates an instant query now; throws when it fails or its result is not an instant vector. */
  query(promql: string): Promise<VectorSample[]>;
  /**
   * Queries until `predicate` holds for the result and returns that result; a failing query counts
   * as "not yet". On timeout throws with the last result or error, the scrape targets' health and
   * the server's log tail.
   */
  waitForQuery(promql: string, predicate: (samples: VectorSample[]) => boolean, timeoutMs: number): Promise<VectorSample[]>;
  /** SIGTERM, then SIGKILL after 10 s; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

/**
 * Starts a Prometheus server on 127.0.0.1 (a free port, tried again on "address already in use")
 * scraping `targets`, with its configuration, storage and log in a temporary directory; resolves
 * once /-/ready answers. A target must answer with a Content-Type naming its format (Prometheus 3
 * refuses a blank one, and the target's lastError says so).
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const command = prometheusBinary('prometheus');
  const intervalMs = options.scrapeIntervalMs ?? 1000;
  const dir = await mkdtemp(join(tmpdir(), 'nativeip-prometheus-'));
  try {
    const configPath = join(dir, 'prometheus.yml');
    // JSON is YAML: no quoting to get wrong.
    const config = {
      global: { scrape_interval: `${intervalMs}ms`, scrape_timeout: `${intervalMs}ms` },
      scrape_configs: [
        {
          job_name: 'nativeip-test',
          metrics_path: options.metricsPath ?? '/metrics',
          static_configs: [{ targets: [...options.targets] }],
        },
      ],
    };
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const dataDir = join(dir, `data-${attempt}`);
      await mkdir(dataDir);
      const server = new ManagedProcess({
        name: 'prometheus',
        command,
        args: [
          `--config.file=${configPath}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=127.0.0.1:${port}`,
          // The scrape manager takes in targets every 5 s by default: the first scrape came ~6 s
          // after start. A hidden flag, stable since Prometheus 2.x.
          '--scrape.discovery-reload-interval=1s',
        ],
        logPath: join(dir, `prometheus-${attempt}.log`),
        cwd: dir,
      });
      server.start();
      try {
        await server.waitUntil('ready', async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).ok, START_TIMEOUT_MS);
      } catch (error) {
        await server.stop();
        if (attempt < PORT_ATTEMPTS && tailFile(server.logPath).includes('address already in use')) continue;
        throw error;
      }
      return new RunningPrometheus(url, dir, server);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class RunningPrometheus implements PrometheusServer {
  private stopped = false;

  constructor(
    readonly url: string,
    readonly dir: string,
    private readonly server: ManagedProcess,
  ) {}

  async query(promql: string): Promise<VectorSample[]> {
    const body = await this.get(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    const data = field(body, 'data');
    const resultType = field(data, 'resultType');
    if (resultType !== 'vector') throw new Error(`query ${promql} returned a ${String(resultType)}, not an instant vector`);
    const result = field(data, 'result');
    if (!Array.isArray(result)) throw new Error(`query ${promql}: unexpected result ${JSON.stringify(result)}`);
    return result.map((sample: unknown) => parseSample(promql, sample));
  }

  async waitForQuery(promql: string, predicate: (samples: VectorSample[]) => boolean, timeoutMs: number): Promise<VectorSample[]> {
    let last: VectorSample[] | undefined;
    let lastError: unknown;
    try {
      await this.server.waitUntil(
        `returning a result for ${promql} that the predicate accepts`,
        async () => {
          try {
            last = await this.query(promql);
            lastError = undefined;
          } catch (error) {
            lastError = error;
            throw error;
          }
          return predicate(last);
        },
        timeoutMs,
        250,
      );
    } catch (error) {
      const seen = lastError !== undefined ? `last error: ${String(lastError)}` : `last result: ${JSON.stringify(last)}`;
      throw new Error(`${String(error instanceof Error ? error.message : error)}\n${seen}\ntargets: ${await this.targetHealth()}`, { cause: error });
    }
    if (last === undefined) throw new Error(`query ${promql}: no result`); // unreachable: waitUntil returned
    return last;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** GETs an API path and returns its JSON body when `status` is success; throws with the error otherwise. */
  private async get(path: string): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`GET ${path}: HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
    if (field(body, 'status') !== 'success') {
      throw new Error(`GET ${path}: HTTP ${response.status}: ${String(field(body, 'errorType'))}: ${String(field(body, 'error'))}`);
    }
    return body;
  }

  /** One line per active scrape target: its URL, health and last error. */
  private async targetHealth(): Promise<string> {
    try {
      const active = field(field(await this.get('/api/v1/targets?state=active'), 'data'), 'activeTargets');
      if (!Array.isArray(active) || active.length === 0) return 'none active';
      return active
        .map((target: unknown) => {
          const error = field(target, 'lastError');
          return `\n  ${String(field(target, 'scrapeUrl'))} ${String(field(target, 'health'))}${typeof error === 'string' && error !== '' ? `: ${error}` : ''}`;
        })
        .join('');
    } catch (error) {
      return `unknown (${String(error)})`;
    }
  }
}

/** `value[key]` when `value` is an object, else undefined. */
function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** A vector element of the HTTP API, `{ metric: {...}, value: [<seconds>, "<float>"] }`. */
function parseSample(promql: string, sample: unknown): VectorSample {
  const metric = field(sample, 'metric');
  const pair = field(sample, 'value');
  if (field(sample, 'histogram') !== undefined) throw new Error(`query ${promql}: native histogram samples are not supported here`);
  if (typeof metric !== 'object' || metric === null || !Array.isArray(pair) || pair.length !== 2) {
    throw new Error(`query ${promql}: unexpected sample ${JSON.stringify(sample)}`);
  }
  const [timestamp, text]: unknown[] = pair;
  if (typeof timestamp !== 'number' || typeof text !== 'string') throw new Error(`query ${promql}: unexpected sample ${JSON.stringify(sample)}`);
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(metric)) labels[name] = String(value);
  return { metric: labels, timestamp, value: parseFloatText(text) };
}

/** Prometheus writes floats as Go does: `+Inf`, `-Inf`, `NaN`, or a decimal. */
function parseFloatText(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}
