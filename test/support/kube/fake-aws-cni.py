#!/usr/bin/env python3
"""A stand-in for the AWS VPC CNI's plugin (aws-cni), for the kubelet test of switching a node
to nativeip: it sets a pod up as aws-node does (host veth `eni` + 11 hex digits of
sha1(namespace.name), the pod's /32 behind the 169.254.1.1 gateway, a /32 route in the main
table without a protocol, the to-rule at 512 and for a secondary ENI the from-rule at 1536),
taking addresses from the list its configuration gives (the ENI addresses aws-node's ipamd would
have handed out). Its configuration:

  {"type": "aws-cni", "nodeNetns": "<the node's namespace name>", "stateFile": "<path>",
   "addresses": [{"ip": "10.0.0.5", "table": null}, {"ip": "10.0.0.9", "table": "2"}]}
"""
import fcntl
import hashlib
import json
import os
import subprocess
import sys


def ip(*args, check=True):
    subprocess.run(['ip', *args], check=check, capture_output=True)


def fail(code, msg):
    print(json.dumps({'cniVersion': '0.4.0', 'code': code, 'msg': msg}))
    sys.exit(1)


def netns_name(path):
    for prefix in ('/var/run/netns/', '/run/netns/'):
        if path.startswith(prefix):
            return path[len(prefix):]
    fail(7, f'network namespace {path} is not under /run/netns')


def with_state(path, change):
    with open(path, 'a+') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read()
        state = json.loads(text) if text else {}
        result = change(state)
        f.seek(0)
        f.truncate()
        f.write(json.dumps(state))
        return result


def add(conf, container_id, netns, ifname, args):
    node = conf['nodeNetns']
    veth = 'eni' + hashlib.sha1(f"{args['K8S_POD_NAMESPACE']}.{args['K8S_POD_NAME']}".encode()).hexdigest()[:11]

    def take(state):
        if container_id in state:
            return state[container_id]
        used = {entry['ip'] for entry in state.values()}
        for entry in conf['addresses']:
            if entry['ip'] not in used:
                state[container_id] = entry
                return entry
        fail(11, 'no free address')

    entry = with_state(conf['stateFile'], take)
    address, table = entry['ip'], entry['table']
    pod = netns_name(netns)
    peer = 'tmp' + container_id[:8]
    ip('-n', node, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', peer, 'netns', pod)
    ip('-n', pod, 'link', 'set', peer, 'name', ifname)
    ip('-n', node, 'link', 'set', veth, 'up')
    host_mac = json.loads(subprocess.run(['ip', '-n', node, '-j', 'link', 'show', veth], check=True, capture_output=True).stdout)[0]['address']
    ip('-n', pod, 'addr', 'add', f'{address}/32', 'dev', ifname)
    ip('-n', pod, 'link', 'set', ifname, 'up')
    ip('-n', pod, 'route', 'add', '169.254.1.1', 'dev', ifname, 'scope', 'link')
    ip('-n', pod, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', ifname)
    ip('-n', pod, 'neigh', 'add', '169.254.1.1', 'lladdr', host_mac, 'dev', ifname, 'nud', 'permanent')
    ip('-n', node, 'route', 'add', f'{address}/32', 'dev', veth, 'scope', 'link')
    ip('-n', node, 'rule', 'add', 'to', f'{address}/32', 'lookup', 'main', 'pref', '512')
    if table is not None:
        ip('-n', node, 'rule', 'add', 'from', f'{address}/32', 'lookup', table, 'pref', '1536')
    print(json.dumps({
        'cniVersion': conf.get('cniVersion', '0.4.0'),
        'interfaces': [{'name': ifname, 'sandbox': netns}],
        'ips': [{'version': '4', 'address': f'{address}/32', 'interface': 0}],
        'dns': {},
    }))


def delete(conf, container_id, args):
    entry = with_state(conf['stateFile'], lambda state: state.pop(container_id, None))
    if entry is None:
        return
    node = conf['nodeNetns']
    veth = 'eni' + hashlib.sha1(f"{args.get('K8S_POD_NAMESPACE', '')}.{args.get('K8S_POD_NAME', '')}".encode()).hexdigest()[:11]
    ip('-n', node, 'link', 'del', veth, check=False)
    ip('-n', node, 'rule', 'del', 'to', f"{entry['ip']}/32", 'pref', '512', check=False)
    ip('-n', node, 'rule', 'del', 'from', f"{entry['ip']}/32", 'pref', '1536', check=False)


def main():
    command = os.environ.get('CNI_COMMAND', '')
    conf = json.load(sys.stdin)
    if command == 'VERSION':
        print(json.dumps({'cniVersion': conf.get('cniVersion', '0.4.0'), 'supportedVersions': ['0.3.0', '0.3.1', '0.4.0']}))
        return
    args = dict(kv.split('=', 1) for kv in os.environ.get('CNI_ARGS', '').split(';') if '=' in kv)
    container_id = os.environ.get('CNI_CONTAINERID', '')
    if command == 'ADD':
        add(conf, container_id, os.environ['CNI_NETNS'], os.environ.get('CNI_IFNAME', 'eth0'), args)
    elif command == 'DEL':
        delete(conf, container_id, args)
    elif command == 'CHECK':
        return
    else:
        fail(4, f'unknown CNI_COMMAND {command!r}')


main()
