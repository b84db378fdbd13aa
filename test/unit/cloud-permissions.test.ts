/**
 * The least-privilege documents in iam/ stay equal to what the code can call.
 *
 * AWS: the EC2 actions nativeip can send are read from the code with the TypeScript parser (so
 * comments do not count): every `new XxxCommand(…)` in src/providers/aws, plus `CreateTags` when a
 * command carries `TagSpecifications` (EC2 authorizes tag-on-create as ec2:CreateTags). Every value
 * imported from the SDK anywhere in src/ must be the client or a command, so a paginator, a waiter
 * or a call from another folder cannot slip past the scan. The set must equal the policy's `ec2:`
 * actions, both ways, and the conditions must keep their meaning (see iam/README.md).
 *
 * Azure: every SDK operation arm-gateway.ts calls (`this.#network.<group>.<operation>`,
 * `this.#compute.<group>.<operation>`) is mapped to its ARM permissions by the table below; an
 * operation the table does not know fails the test, so a new call forces a review of the role.
 * The union must equal the role's Actions, both ways.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID_TAG_KEY, MANAGED_TAG_KEY, MANAGED_TAG_VALUE } from '../../src/providers/aws/tags.js';

const ROOT = join(import.meta.dirname, '../..');
const AWS_POLICY_PATH = join(ROOT, 'iam/aws-iam-policy.json');
const AZURE_ROLE_PATH = join(ROOT, 'iam/azure-role.json');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

function where(file: ts.SourceFile, node: ts.Node): string {
  const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
  return `${relative(ROOT, file.fileName)}:${line + 1}`;
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Fails with both differences named, so a missing and an extra action read at a glance. */
function expectSameSet(fromCode: Iterable<string>, inDocument: Iterable<string>, document: string): void {
  const code = new Set(fromCode);
  const doc = new Set(inDocument);
  const missing = sorted([...code].filter((a) => !doc.has(a)));
  const extra = sorted([...doc].filter((a) => !code.has(a)));
  expect({ [`needed by the code but missing from ${document}`]: missing, [`in ${document} but not needed by the code`]: extra }).toEqual({
    [`needed by the code but missing from ${document}`]: [],
    [`in ${document} but not needed by the code`]: [],
  });
}

// ---------------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------------

interface Ec2Call {
  readonly action: string;
  readonly at: string;
  /** The command's input carries TagSpecifications: EC2 also authorizes ec2:CreateTags for it. */
  readonly tagsOnCreate: boolean;
}

/** Every `new XxxCommand(…)` under src/providers/aws. */
function ec2CallsInCode(): Ec2Call[] {
  const calls: Ec2Call[] = [];
  for (const path of tsFiles(join(ROOT, 'src/providers/aws'))) {
    const file = parse(path);
    walk(file, (node) => {
      if (!ts.isNewExpression(node) || !ts.isIdentifier(node.expression)) return;
      const match = /^(\w+)Command$/.exec(node.expression.text);
      if (match === null) return;
      let tagsOnCreate = false;
      for (const arg of node.arguments ?? []) {
        walk(arg, (inner) => {
          if ((ts.isPropertyAssignment(inner) || ts.isShorthandPropertyAssignment(inner)) && inner.name.getText(file) === 'TagSpecifications') tagsOnCreate = true;
        });
      }
      calls.push({ action: match[1]!, at: where(file, node), tagsOnCreate });
    });
  }
  return calls;
}

/** Value (not type-only) imports from an AWS SDK package anywhere in src/: `name (file:line)`. */
function awsSdkValueImports(): { name: string; module: string; at: string }[] {
  const found: { name: string; module: string; at: string }[] = [];
  for (const path of tsFiles(join(ROOT, 'src'))) {
    const file = parse(path);
    for (const statement of file.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const module = statement.moduleSpecifier.text;
      if (!module.startsWith('@aws-sdk/')) continue;
      const clause = statement.importClause;
      if (clause === undefined || clause.isTypeOnly) continue;
      if (clause.name !== undefined) found.push({ name: clause.name.text, module, at: where(file, statement) });
      const bindings = clause.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) found.push({ name: `* as ${bindings.name.text}`, module, at: where(file, statement) });
      if (bindings !== undefined && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (!element.isTypeOnly) found.push({ name: (element.propertyName ?? element.name).text, module, at: where(file, element) });
        }
      }
    }
  }
  return found;
}

interface IamStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

interface IamPolicy {
  readonly Version: string;
  readonly Statement: IamStatement[];
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
const ec2Actions = (statement: IamStatement): string[] => list(statement.Action).filter((a) => a.startsWith('ec2:')).map((a) => a.slice(4));

function loadPolicy(): IamPolicy {
  return JSON.parse(readFileSync(AWS_POLICY_PATH, 'utf8')) as IamPolicy;
}

/** Condition values of `operator` → `key`, or undefined when the statement has no such condition. */
function conditionValues(statement: IamStatement, operator: string, key: string): string[] | undefined {
  const value = statement.Condition?.[operator]?.[key];
  return value === undefined ? undefined : list(value);
}

/** A statement's resources that cover network interfaces (`*`, or a network-interface ARN). */
function coversEnis(statement: IamStatement): boolean {
  return list(statement.Resource).some((r) => r === '*' || /^arn:aws[\w-]*:ec2:[^:]*:[^:]*:(network-interface\/|\*)/.test(r));
}

const MANAGED_RESOURCE_TAG = `aws:ResourceTag/${MANAGED_TAG_KEY}`;
const VPC_CNI_OWNER_RESOURCE_TAG = `aws:ResourceTag/${INSTANCE_ID_TAG_KEY}`;
const MANAGED_REQUEST_TAG = `aws:RequestTag/${MANAGED_TAG_KEY}`;
/** Called only on ENIs nativeip created (ec2-grow.ts, ec2-shrink.ts, ec2-resume.ts, leaked-eni-collection.ts). */
const OWN_ENI_ACTIONS = ['AttachNetworkInterface', 'DeleteNetworkInterface', 'DetachNetworkInterface', 'ModifyNetworkInterfaceAttribute'];
/** Also called on the primary ENI, which EC2 created untagged at launch. */
const ANY_ENI_ACTIONS = ['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses'];

describe('AWS IAM policy (iam/aws-iam-policy.json)', () => {
  it('is a well-formed IAM policy document', () => {
    const policy = loadPolicy();
    expect(policy.Version).toBe('2012-10-17');
    expect(Array.isArray(policy.Statement)).toBe(true);
    expect(policy.Statement.length).toBeGreaterThan(0);
    for (const statement of policy.Statement) {
      expect(statement.Effect, JSON.stringify(statement)).toBe('Allow');
      expect(list(statement.Action).length, JSON.stringify(statement)).toBeGreaterThan(0);
      expect(list(statement.Resource).length, JSON.stringify(statement)).toBeGreaterThan(0);
      for (const action of list(statement.Action)) expect(action, 'only EC2, and no wildcards').toMatch(/^ec2:[A-Z][A-Za-z]+$/);
    }
    const sids = policy.Statement.flatMap((s) => (s.Sid === undefined ? [] : [s.Sid]));
    expect(new Set(sids).size).toBe(sids.length);
  });

  it('the code sends EC2 only through commands (no paginator, waiter or other SDK entry point)', () => {
    const imports = awsSdkValueImports();
    const other = imports.filter((i) => !(i.module === '@aws-sdk/client-ec2' && (i.name === 'EC2Client' || /^\w+Command$/.test(i.name))));
    expect(other.map((i) => `${i.name} from ${i.module} (${i.at})`), 'a new way of calling AWS: add what it calls to this scan and the policy').toEqual([]);
    const outside = imports.filter((i) => !i.at.startsWith('src/providers/aws/'));
    expect(outside.map((i) => `${i.name} (${i.at})`), 'AWS SDK used outside src/providers/aws: scan it too').toEqual([]);
    expect(ec2CallsInCode().length).toBeGreaterThan(0);
  });

  it('grants exactly the EC2 actions the code can call', () => {
    const calls = ec2CallsInCode();
    const needed = new Set(calls.map((c) => c.action));
    // Tag-on-create: EC2 authorizes the TagSpecifications of a create as ec2:CreateTags too.
    if (calls.some((c) => c.tagsOnCreate)) needed.add('CreateTags');
    const granted = loadPolicy().Statement.flatMap(ec2Actions);
    expectSameSet(needed, granted, 'iam/aws-iam-policy.json');
  });

  it('allows CreateTags only as part of the creates that tag (ec2:CreateAction)', () => {
    const calls = ec2CallsInCode();
    const direct = calls.filter((c) => c.action === 'CreateTags').map((c) => c.at);
    expect(direct, 'CreateTags sent on its own: the policy allows it only at creation (ec2:CreateAction); review the conditions').toEqual([]);
    const tagging = sorted(calls.filter((c) => c.tagsOnCreate).map((c) => c.action));
    const statements = loadPolicy().Statement.filter((s) => ec2Actions(s).includes('CreateTags'));
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(sorted(conditionValues(statement, 'StringEquals', 'ec2:CreateAction') ?? []), `${statement.Sid ?? ''}: CreateTags without ec2:CreateAction would let the role tag any ENI as nativeip's`).toEqual(tagging);
    }
  });

  it('lets CreateNetworkInterface make only ENIs tagged as nativeip’s', () => {
    for (const statement of loadPolicy().Statement.filter((s) => ec2Actions(s).includes('CreateNetworkInterface') && coversEnis(s))) {
      expect(conditionValues(statement, 'StringEquals', MANAGED_REQUEST_TAG), statement.Sid).toEqual([MANAGED_TAG_VALUE]);
    }
  });

  it('restricts attach, detach, modify and delete to ENIs tagged as nativeip’s (delete also to the AWS VPC CNI’s, for its leaked ENIs)', () => {
    const policy = loadPolicy();
    for (const action of OWN_ENI_ACTIONS) {
      const onEnis = policy.Statement.filter((s) => ec2Actions(s).includes(action) && coversEnis(s));
      expect(onEnis.length, `${action} is granted on network interfaces`).toBeGreaterThan(0);
      for (const statement of onEnis) {
        const vpcCniOwned = conditionValues(statement, 'StringLike', VPC_CNI_OWNER_RESOURCE_TAG);
        if (action === 'DeleteNetworkInterface' && vpcCniOwned !== undefined) {
          // EC2 deletes only detached ENIs: this lets nativeip clean up what aws-node left, never detach it.
          expect(vpcCniOwned, statement.Sid).toEqual(['i-*']);
          expect(ec2Actions(statement), statement.Sid).toEqual(['DeleteNetworkInterface']);
          continue;
        }
        expect(conditionValues(statement, 'StringEquals', MANAGED_RESOURCE_TAG), `${action} in ${statement.Sid ?? ''}`).toEqual([MANAGED_TAG_VALUE]);
      }
    }
  });

  it('does not restrict assign/unassign by nativeip’s tag (the primary ENI is untagged)', () => {
    const policy = loadPolicy();
    for (const action of ANY_ENI_ACTIONS) {
      const onEnis = policy.Statement.filter((s) => ec2Actions(s).includes(action) && coversEnis(s));
      expect(onEnis.some((s) => s.Condition === undefined), `${action} must be allowed on any ENI`).toBe(true);
    }
  });

  it('grants Describe* on Resource "*" (they support no resource-level permissions)', () => {
    for (const statement of loadPolicy().Statement.filter((s) => ec2Actions(s).some((a) => a.startsWith('Describe')))) {
      expect(list(statement.Resource), statement.Sid).toEqual(['*']);
      expect(ec2Actions(statement).every((a) => a.startsWith('Describe')), `${statement.Sid ?? ''}: keep Describe* apart`).toBe(true);
      expect(statement.Condition, statement.Sid).toBeUndefined();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Azure
// ---------------------------------------------------------------------------------------------

const NETWORK_WRITE_LINKED_JOINS = [
  // The PUT carries the NIC's (or the instance's NIC configuration's) existing references back
  // (`...raw`, `...vm`), and ARM checks linked access on every reference in the body.
  'Microsoft.Network/virtualNetworks/subnets/join/action',
  'Microsoft.Network/networkSecurityGroups/join/action',
  'Microsoft.Network/loadBalancers/backendAddressPools/join/action',
  'Microsoft.Network/loadBalancers/inboundNatRules/join/action',
];

/**
 * SDK operation (`<client>.<operation group>.<operation>`) → the ARM permissions it needs. A
 * long-running write also needs its poll (the Azure-AsyncOperation / Location URLs), and the
 * resumed pollers (restoreNetworkPoller / restoreComputePoller) name the same operation.
 */
const ARM_PERMISSIONS: Record<string, readonly string[]> = {
  'compute.virtualMachines.get': ['Microsoft.Compute/virtualMachines/read'],
  'compute.virtualMachineScaleSetVMs.get': ['Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read'],
  'compute.virtualMachineScaleSetVMs.update': [
    'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write',
    'Microsoft.Compute/locations/operations/read',
    ...NETWORK_WRITE_LINKED_JOINS,
    'Microsoft.Network/loadBalancers/inboundNatPools/join/action',
  ],
  'network.networkInterfaces.get': ['Microsoft.Network/networkInterfaces/read'],
  'network.networkInterfaces.getVirtualMachineScaleSetNetworkInterface': [
    'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces/read',
  ],
  'network.networkInterfaces.createOrUpdate': [
    'Microsoft.Network/networkInterfaces/write',
    'Microsoft.Network/locations/operations/read',
    'Microsoft.Network/locations/operationResults/read',
    ...NETWORK_WRITE_LINKED_JOINS,
  ],
  'network.virtualNetworks.get': ['Microsoft.Network/virtualNetworks/read'],
};

const ARM_GATEWAY = join(ROOT, 'src/providers/azure/arm-gateway.ts');
/** The gateway's SDK clients, by private field. */
const ARM_CLIENT_FIELDS = new Set(['#network', '#compute']);

/** `client.group.operation` of every SDK operation a file reaches through `this.#network` / `this.#compute`. */
function armOperationsIn(path: string): { operation: string; at: string }[] {
  const file = parse(path);
  const found: { operation: string; at: string }[] = [];
  walk(file, (node) => {
    // this.#network.<group>.<operation>, or this.#network.<member> (anything else on the client).
    if (!ts.isPropertyAccessExpression(node)) return;
    const client = node.expression;
    if (!ts.isPropertyAccessExpression(client) || client.expression.kind !== ts.SyntaxKind.ThisKeyword) return;
    if (!ts.isPrivateIdentifier(client.name) || !ARM_CLIENT_FIELDS.has(client.name.text)) return;
    const parent = node.parent;
    const operation =
      ts.isPropertyAccessExpression(parent) && parent.expression === node ? `${node.name.text}.${parent.name.text}` : node.name.text;
    found.push({ operation: `${client.name.text.slice(1)}.${operation}`, at: where(file, node) });
  });
  return found;
}

interface AzureRole {
  readonly Name: string;
  readonly IsCustom: boolean;
  readonly Description: string;
  readonly Actions: string[];
  readonly NotActions?: string[];
  readonly DataActions?: string[];
  readonly NotDataActions?: string[];
  readonly AssignableScopes: string[];
}

function loadRole(): AzureRole {
  return JSON.parse(readFileSync(AZURE_ROLE_PATH, 'utf8')) as AzureRole;
}

describe('Azure custom role (iam/azure-role.json)', () => {
  it('is a well-formed custom role definition', () => {
    const role = loadRole();
    expect(typeof role.Name).toBe('string');
    expect(role.Name.length).toBeGreaterThan(0);
    expect(role.IsCustom).toBe(true);
    expect(typeof role.Description).toBe('string');
    expect(role.Description.length).toBeGreaterThan(0);
    expect(Array.isArray(role.Actions)).toBe(true);
    for (const action of role.Actions) expect(action, 'no wildcards').toMatch(/^Microsoft\.(Network|Compute)\/[A-Za-z/]+\/(read|write|delete|action)$/);
    expect(new Set(role.Actions).size).toBe(role.Actions.length);
    expect(role.NotActions ?? []).toEqual([]);
    expect(role.DataActions ?? []).toEqual([]);
    expect(role.NotDataActions ?? []).toEqual([]);
    expect(role.AssignableScopes.length).toBeGreaterThan(0);
    for (const scope of role.AssignableScopes) expect(scope).toMatch(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+$/);
  });

  it('only arm-gateway.ts builds ARM SDK clients', () => {
    const builders: string[] = [];
    for (const path of tsFiles(join(ROOT, 'src'))) {
      if (path === ARM_GATEWAY) continue;
      const file = parse(path);
      for (const statement of file.statements) {
        if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
        if (!/^@azure\/arm-/.test(statement.moduleSpecifier.text) || statement.importClause?.isTypeOnly === true) continue;
        const bindings = statement.importClause?.namedBindings;
        const values = bindings !== undefined && ts.isNamedImports(bindings) ? bindings.elements.filter((e) => !e.isTypeOnly) : [];
        if (statement.importClause?.name !== undefined || (bindings !== undefined && !ts.isNamedImports(bindings)) || values.length > 0) {
          builders.push(where(file, statement));
        }
      }
    }
    expect(builders, 'ARM SDK used outside arm-gateway.ts: scan it too').toEqual([]);
  });

  it('every ARM operation the gateway calls is in the permission table', () => {
    const operations = armOperationsIn(ARM_GATEWAY);
    expect(operations.length).toBeGreaterThan(0);
    const unknown = operations.filter((o) => ARM_PERMISSIONS[o.operation] === undefined).map((o) => `${o.operation} (${o.at})`);
    expect(unknown, 'new ARM call: add its permissions to ARM_PERMISSIONS in this test and to iam/azure-role.json (and iam/README.md)').toEqual([]);
  });

  it('grants exactly the permissions of the ARM operations the code calls', () => {
    const needed = armOperationsIn(ARM_GATEWAY).flatMap((o) => ARM_PERMISSIONS[o.operation] ?? []);
    expectSameSet(needed, loadRole().Actions, 'iam/azure-role.json');
  });

  it('the permission table has no entry the code no longer calls', () => {
    const called = new Set(armOperationsIn(ARM_GATEWAY).map((o) => o.operation));
    expect(Object.keys(ARM_PERMISSIONS).filter((k) => !called.has(k))).toEqual([]);
  });
});
