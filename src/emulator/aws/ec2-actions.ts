import type { DescribeRequest } from './ec2-describe.js';
import { describeInstances, describeInstanceTypes, describeNetworkInterfaces, describeSubnets } from './ec2-describe.js';
import {
  renderInstanceType,
  renderNetworkInterface,
  renderReservations,
  renderSubnet,
} from './ec2-render.js';
import type { Ec2State } from './ec2-state.js';
import { requestFingerprint } from './client-tokens.js';
import { missingParameter } from './errors.js';
import type { QueryParams } from './query-params.js';
import type { XmlFragment } from './xml.js';
import { el, leaf, set } from './xml.js';

/** How a request sees the state beyond the state itself (injected eventual consistency). */
export interface ActionView {
  /** ENIs a filtered describe leaves out, as if not yet visible to this request. */
  readonly hiddenEnis?: ReadonlySet<string>;
}

/** Runs one action against the state and returns the body of its XML response. */
export type ActionHandler = (state: Ec2State, params: QueryParams, view?: ActionView) => XmlFragment[];

function describeRequest(params: QueryParams, idParam: string, maxResults: { min: number; max: number }): DescribeRequest {
  return {
    ids: params.list(idParam),
    filters: params.filters(),
    maxResults: params.int('MaxResults', maxResults),
    nextToken: params.string('NextToken'),
  };
}

const ok: XmlFragment[] = [leaf('return', true)];

/** CreateNetworkInterface names prefixes as `Ipv4Prefix.N.Ipv4Prefix`. */
function prefixSpecs(params: QueryParams): string[] {
  const out: string[] = [];
  for (let n = 1; params.has(`Ipv4Prefix.${n}.Ipv4Prefix`); n++) out.push(params.string(`Ipv4Prefix.${n}.Ipv4Prefix`) ?? '');
  return out;
}

const PAGE = { min: 5, max: 1000 };

export const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  DescribeInstanceTypes(state, params) {
    const page = describeInstanceTypes(state, describeRequest(params, 'InstanceType', { min: 5, max: 100 }));
    return [set('instanceTypeSet', page.items.map(renderInstanceType)), leaf('nextToken', page.nextToken)];
  },

  DescribeInstances(state, params) {
    const page = describeInstances(state, describeRequest(params, 'InstanceId', PAGE));
    return [renderReservations(state, page.items), leaf('nextToken', page.nextToken)];
  },

  DescribeNetworkInterfaces(state, params, view) {
    const page = describeNetworkInterfaces(state, describeRequest(params, 'NetworkInterfaceId', PAGE), view?.hiddenEnis);
    return [
      set('networkInterfaceSet', page.items.map((eni) => renderNetworkInterface(state, eni))),
      leaf('nextToken', page.nextToken),
    ];
  },

  DescribeSubnets(state, params) {
    const page = describeSubnets(state, describeRequest(params, 'SubnetId', PAGE));
    return [set('subnetSet', page.items.map((s) => renderSubnet(state, s))), leaf('nextToken', page.nextToken)];
  },

  CreateNetworkInterface(state, params) {
    const token = params.string('ClientToken');
    const eni = state.clientTokens.run('CreateNetworkInterface', token, requestFingerprint(params.entries()), () => state.createNetworkInterface({
      subnetId: params.requireString('SubnetId'),
      description: params.string('Description'),
      securityGroupIds: params.list('SecurityGroupId'),
      secondaryCount: params.int('SecondaryPrivateIpAddressCount', { min: 0 }),
      privateIp: params.string('PrivateIpAddress'),
      privateIpSpecs: params.privateIpSpecifications(),
      tagSpecifications: params.tagSpecifications(),
      ipv4PrefixCount: params.int('Ipv4PrefixCount', { min: 1 }),
      ipv4Prefixes: params.list('Ipv4Prefix').length > 0 ? params.list('Ipv4Prefix') : prefixSpecs(params),
    }));
    return [el('networkInterface', renderNetworkInterface(state, eni)), leaf('clientToken', token)];
  },

  AttachNetworkInterface(state, params) {
    const attachment = state.attachNetworkInterface({
      eniId: params.requireString('NetworkInterfaceId'),
      instanceId: params.requireString('InstanceId'),
      deviceIndex: params.requireInt('DeviceIndex', { min: 0, max: 127 }),
      networkCardIndex: params.int('NetworkCardIndex', { min: 0, max: 127 }),
    });
    return [leaf('attachmentId', attachment.id), leaf('networkCardIndex', attachment.networkCardIndex)];
  },

  DetachNetworkInterface(state, params) {
    params.bool('Force');
    state.detachNetworkInterface(params.requireString('AttachmentId'));
    return ok;
  },

  DeleteNetworkInterface(state, params) {
    state.deleteNetworkInterface(params.requireString('NetworkInterfaceId'));
    return ok;
  },

  AssignPrivateIpAddresses(state, params) {
    const eniId = params.requireString('NetworkInterfaceId');
    const request = {
      eniId,
      count: params.int('SecondaryPrivateIpAddressCount'),
      addresses: params.list('PrivateIpAddress'),
      allowReassignment: params.bool('AllowReassignment'),
      ipv4PrefixCount: params.int('Ipv4PrefixCount'),
      ipv4Prefixes: params.list('Ipv4Prefix'),
    };
    const wantsPrefixes = request.ipv4PrefixCount !== undefined || request.ipv4Prefixes.length > 0;
    const assignedPrefixes = wantsPrefixes ? state.assignIpv4Prefixes(request) : [];
    const assigned = wantsPrefixes ? [] : state.assignPrivateIpAddresses(request);
    return [
      ...ok,
      leaf('networkInterfaceId', eniId),
      set(
        'assignedPrivateIpAddressesSet',
        assigned.map((ip) => [leaf('privateIpAddress', ip)]),
      ),
      set('assignedIpv4PrefixSet', assignedPrefixes.map((prefix) => [leaf('ipv4Prefix', prefix)])),
    ];
  },

  UnassignPrivateIpAddresses(state, params) {
    state.unassignPrivateIpAddresses(params.requireString('NetworkInterfaceId'), params.list('PrivateIpAddress'), params.list('Ipv4Prefix'));
    return ok;
  },

  ModifyNetworkInterfaceAttribute(state, params) {
    const attachmentId = params.string('Attachment.AttachmentId');
    const deleteOnTermination = params.bool('Attachment.DeleteOnTermination');
    if (attachmentId !== undefined && deleteOnTermination === undefined) throw missingParameter('Attachment.DeleteOnTermination');
    if (attachmentId === undefined && deleteOnTermination !== undefined) throw missingParameter('Attachment.AttachmentId');
    const groups = params.list('SecurityGroupId');
    state.modifyNetworkInterfaceAttribute({
      eniId: params.requireString('NetworkInterfaceId'),
      attachment: attachmentId === undefined ? undefined : { attachmentId, deleteOnTermination: deleteOnTermination ?? false },
      description: params.string('Description.Value'),
      securityGroupIds: groups.length > 0 ? groups : undefined,
    });
    return ok;
  },

  CreateTags(state, params) {
    const resources = params.list('ResourceId');
    if (resources.length === 0) throw missingParameter('ResourceId');
    const tags = params.tags();
    if (tags.length === 0) throw missingParameter('Tag');
    state.createTags(resources, tags);
    return ok;
  },

  DeleteTags(state, params) {
    const resources = params.list('ResourceId');
    if (resources.length === 0) throw missingParameter('ResourceId');
    state.deleteTags(resources, params.tags());
    return ok;
  },
};

