/**
 * Regenerates data/aws-instance-limits.json, the EC2 instance-type limits that `nativeip max-pods`
 * (src/providers/aws/instance-limits.ts) and the EC2 emulator (src/emulator/aws/instance-types.ts)
 * both read:
 *
 *   node scripts/run-ts.mjs scripts/generate-instance-limits.ts [--vpc-cni vX.Y.Z] [--out FILE]
 *
 * Needs `go` (only to fetch modules: `go mod download`, from the Go module proxy, into the Go
 * module cache). Two pinned sources:
 * - the AWS VPC CNI's module (github.com/aws/amazon-vpc-cni-k8s), whose generated
 *   pkg/vpc/vpc_ip_resource_limit.go (pkg/awsutils/ before 1.19) holds, per instance type, ENILimit,
 *   IPv4Limit, DefaultNetworkCardIndex, NetworkCards, HypervisorType and IsBareMetal. Its map
 *   literal is parsed (scripts/instance-limits/parse.ts); nothing of the Go file is copied but
 *   those numbers.
 * - vCPUs (the max-pods prefix ceiling: 250 above 30 vCPUs, else 110) and memory, which the VPC
 *   CNI's table lacks: github.com/cristim/ec2-instances-info's generated_instances_data.txt (a
 *   listing of ec2instances.info's data, public domain). It is older and smaller than the VPC
 *   CNI's table: types it does not list get no vcpus, and max-pods then assumes ≤ 30 unless told.
 * To move to a newer VPC CNI: change VPC_CNI_VERSION (or pass --vpc-cni), run, review the diff of
 * the JSON, run `npx vitest run test/unit`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { limitsFromVpcCniSource, renderLimitsJson, vcpusFromInstancesListing } from './instance-limits/parse.js';

export const VPC_CNI_MODULE = 'github.com/aws/amazon-vpc-cni-k8s';
export const VPC_CNI_VERSION = 'v1.23.2';
const VPC_CNI_FILES = ['pkg/vpc/vpc_ip_resource_limit.go', 'pkg/awsutils/vpc_ip_resource_limit.go'];
export const VCPU_MODULE = 'github.com/cristim/ec2-instances-info';
export const VCPU_VERSION = 'v0.0.0-20250528091325-32acf84f42eb';
const VCPU_FILE = 'generated_instances_data.txt';

interface Downloaded {
  readonly Dir: string;
  readonly Info: string;
  readonly Version: string;
}

/** `go mod download -json MODULE@VERSION`, run outside any module so the project's go.mod (none) plays no part. */
function download(module: string, version: string): Downloaded {
  const scratch = mkdtempSync(join(tmpdir(), 'nativeip-limits-'));
  try {
    let out: string;
    try {
      out = execFileSync('go', ['mod', 'download', '-json', `${module}@${version}`], {
        cwd: scratch,
        encoding: 'utf8',
        env: { ...process.env, GO111MODULE: 'on', GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    } catch (error) {
      // go exits 1 and says why in the JSON's Error field on stdout: keep that, not "Command failed".
      out = String((error as { stdout?: unknown }).stdout ?? '');
      if (out.trim() === '') throw error;
    }
    const parsed = JSON.parse(out) as Downloaded & { Error?: string };
    if (parsed.Error !== undefined) throw new Error(`go mod download ${module}@${version}: ${parsed.Error}`);
    return parsed;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function versionTime(info: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(info, 'utf8')) as { Time?: string }).Time;
  } catch {
    return undefined;
  }
}

/** The repository's root above `from` (run-ts.mjs runs a bundle from .tmp/run, not from scripts/). */
function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'generate-instance-limits.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository above ${from}`);
  }
}

function main(argv: readonly string[]): void {
  const root = repoRoot(dirname(fileURLToPath(import.meta.url)));
  const option = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const vpcCniVersion = option('--vpc-cni') ?? VPC_CNI_VERSION;
  const outFile = option('--out') ?? join(root, 'data', 'aws-instance-limits.json');

  const cni = download(VPC_CNI_MODULE, vpcCniVersion);
  const file = VPC_CNI_FILES.find((path) => existsSync(join(cni.Dir, path)));
  if (file === undefined) throw new Error(`${VPC_CNI_MODULE}@${vpcCniVersion} has none of ${VPC_CNI_FILES.join(', ')}`);
  const limits = limitsFromVpcCniSource(readFileSync(join(cni.Dir, file), 'utf8'));

  const cpu = download(VCPU_MODULE, VCPU_VERSION);
  const vcpus = vcpusFromInstancesListing(readFileSync(join(cpu.Dir, VCPU_FILE), 'utf8'));

  const cniTime = versionTime(cni.Info);
  const cpuTime = versionTime(cpu.Info);
  const json = renderLimitsJson(limits, vcpus, {
    generated: new Date().toISOString().slice(0, 10),
    limits: { module: VPC_CNI_MODULE, version: cni.Version, file, ...(cniTime === undefined ? {} : { versionTime: cniTime }) },
    vcpus: { module: VCPU_MODULE, version: cpu.Version, file: VCPU_FILE, ...(cpuTime === undefined ? {} : { versionTime: cpuTime }) },
  });
  writeFileSync(outFile, json);
  const withVcpus = [...limits.keys()].filter((name) => vcpus.has(name)).length;
  process.stdout.write(`${outFile}: ${limits.size} instance types from ${VPC_CNI_MODULE}@${cni.Version} (${file}); vCPUs for ${withVcpus}\n`);
}

main(process.argv.slice(2));
