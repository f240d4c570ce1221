import { generateKeyPairSync } from 'node:crypto';
import { Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import {
  DrRealServer,
  LvsDirector,
  LvsDirectorPair,
  LvsDirectorPairProps,
  LvsDirectorProps,
  LvsValidationError,
  NatRealServer,
  RealServerOptions,
  RealServerProps,
  RetiredRealServer,
  TunRealServer,
  VirtualServiceOptions,
} from '../lib';
import { appWith, resourcesOf } from './helpers';

const ssh2 = require('ssh2') as any;

/** A string in SSH's wire format: its length, then its bytes. */
function sshString(b: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length);
  return Buffer.concat([length, b]);
}

const goodDirector: LvsDirectorProps = {
  connection: { host: 'lb.example.net' },
  interfaces: [
    { name: 'ens33', address: '192.168.115.111/24' },
    { name: 'ens34', address: '192.168.116.111/24' },
  ],
};
const goodServer: RealServerProps = { connection: { host: 'web1' }, dataInterface: { name: 'ens33', address: '192.168.116.112/24' } };
const goodService: VirtualServiceOptions = { vip: '192.168.115.111', port: 80, scheduler: 'rr' };

type Case = [name: string, build: () => unknown, path: string, field: string];

/** A cluster built with one bad piece; returns what it built. */
function cluster(p: {
  director?: Partial<LvsDirectorProps> | null;
  service?: Partial<VirtualServiceOptions>;
  server?: Partial<RealServerProps> & { gateway?: string };
  kind?: 'nat' | 'dr' | 'tun';
  options?: RealServerOptions;
  twice?: boolean;
  secondService?: VirtualServiceOptions;
}) {
  const stack = new TerraformStack(appWith(), 's');
  const d = new LvsDirector(stack, 'lb', p.director === null ? (undefined as never) : ({ ...goodDirector, ...p.director } as LvsDirectorProps));
  const svc = d.addService('http', { ...goodService, ...p.service });
  if (p.secondService) d.addService('http2', p.secondService);
  const props = { ...goodServer, ...p.server } as RealServerProps & { gateway?: string };
  const kind = p.kind ?? 'nat';
  const rs =
    kind === 'nat' ? new NatRealServer(stack, 'web1', props) : kind === 'dr' ? new DrRealServer(stack, 'web1', props) : new TunRealServer(stack, 'web1', props);
  svc.addRealServer(rs, p.options);
  if (p.twice) svc.addRealServer(rs, p.options);
}

const ed25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICh7nvpXHfy5IOyreM8eufvGxZC5eR5uQilFaaN6Ab7j';
const [, ed25519Data] = ed25519.split(' ');
/** base64 of the blob `bytes` cut or grown to `length` bytes. */
const resized = (length: number) => {
  const blob = Buffer.from(ed25519Data, 'base64');
  return Buffer.concat([blob, Buffer.alloc(Math.max(0, length - blob.length))]).subarray(0, length).toString('base64');
};
/** Host keys that are not one whole key of the stated type. */
const badHostKeys = [
  `ssh-ed25519 ${ed25519Data.slice(0, -4)}`, // cut at a base64 boundary
  `ssh-ed25519 ${ed25519Data.slice(0, -1)}`, // cut mid-quantum
  `ssh-ed25519 ${resized(50)}`,
  `ssh-ed25519 ${resized(52)}`,
  `ssh-ed25519 ${resized(19)}`,
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5',
  'ssh-ed25519 AAAA',
  'ssh-ed25519',
  `ssh-rsa ${ed25519Data}`,
  `ecdsa-sha2-nistp256 ${ed25519Data}`,
  `web1,10.0.0.12 ${ed25519}`, // a known_hosts line
  `${ed25519}\n${ed25519}`,
  `${ed25519} ${ed25519}`,
  `ssh-ed25519 ${ed25519Data.replace('AAAAI', 'AAA=I')}`, // padding inside
];

/** Addresses that belong to no single host, in several spellings each. */
const notAHost = [
  '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '255.255.255.255',
  '127.0.0.1', '127.0.1.1', '127.255.255.254', '::1', '0:0::1',
  '224.0.0.1', '239.255.255.250', '233.252.0.1', 'ff02::1', 'ff05::1:3', 'FF0E::101',
  '::ffff:192.168.115.110', '::ffff:c0a8:736e', '0:0:0:0:0:ffff:10.0.0.1', '::ffff:127.0.0.1',
];

const hostile = ['a;reboot', 'a b', '$(id)', '`id`', 'a\nb', "a'b", 'a|b', 'a&b', '../../etc', ''];

/** A director pair in one stack with one service on the first director; synthesized, so that checks made at synth count. */
function pair(props: Partial<LvsDirectorPairProps>, opts: { service?: Partial<VirtualServiceOptions>; kind?: 'nat' | 'dr'; pairTwice?: boolean; ipv6?: boolean; natGateway?: string } = {}) {
  const stack = new TerraformStack(appWith(), 's');
  const v6 = opts.ipv6 ? [{ name: 'ens35', address: '2001:db8::11/64' }] : [];
  const d1 = new LvsDirector(stack, 'lb', { ...goodDirector, interfaces: [...goodDirector.interfaces, ...v6] });
  const d2 = new LvsDirector(stack, 'lb2', {
    ...goodDirector,
    connection: { host: 'lb2.example.net' },
    interfaces: [{ name: 'ens33', address: '192.168.115.108/24' }, { name: 'ens34', address: '192.168.116.108/24' }, ...v6.map(() => ({ name: 'ens35', address: '2001:db8::9/64' }))],
  });
  // A pair's VIP floats: not goodService's, which is the first director's own address.
  const svc = d1.addService('http', { ...goodService, vip: '192.168.115.110', ...opts.service });
  const props2 = { ...goodServer, dataInterface: { name: 'ens33', address: '192.168.115.112/24', ipv6Address: '2001:db8::12/64' } };
  new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51, ...props });
  svc.addRealServer(opts.kind === 'nat' ? new NatRealServer(stack, 'web1', { ...goodServer, gateway: opts.natGateway }) : new DrRealServer(stack, 'web1', props2));
  if (opts.pairTwice) new LvsDirectorPair(stack, 'pair2', { directors: [d1, d2], virtualRouterId: 52 });
  Testing.synth(stack);
}

const cases: Case[] = [
  // Addresses
  ['vip not an address', () => cluster({ service: { vip: '192.168.115' } }), 's/lb/http', 'vip'],
  ['vip octet out of range', () => cluster({ service: { vip: '192.168.115.256' } }), 's/lb/http', 'vip'],
  ['vip with leading zeros', () => cluster({ service: { vip: '192.168.115.011' } }), 's/lb/http', 'vip'],
  ['vip bad IPv6', () => cluster({ service: { vip: '2001:db8:::1' } }), 's/lb/http', 'vip'],
  ['vip IPv6 zone', () => cluster({ service: { vip: 'fe80::1%eth0' } }), 's/lb/http', 'vip'],
  ['vip missing', () => cluster({ service: { vip: undefined } }), 's/lb/http', 'vip'],
  ['vip with shell', () => cluster({ service: { vip: '1.2.3.4;id' } }), 's/lb/http', 'vip'],
  ['director address without prefix', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.111' }] } }), 's/lb', 'interfaces[0].address'],
  ['director prefix too long', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.111/33' }] } }), 's/lb', 'interfaces[0].address'],
  ['IPv6 prefix too long', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '2001:db8::1/129' }] } }), 's/lb', 'interfaces[0].address'],
  ['no director interfaces', () => cluster({ director: { interfaces: [] } }), 's/lb', 'interfaces'],
  ['director address twice', () => cluster({ director: { interfaces: [{ name: 'a', address: '10.0.0.1/24' }, { name: 'b', address: '10.0.0.1/24' }] } }), 's/lb', 'interfaces'],
  ['real server address without prefix', () => cluster({ server: { dataInterface: { name: 'ens33', address: '192.168.116.112' } } }), 's/web1', 'dataInterface.address'],
  ['nat gateway not an address', () => cluster({ server: { gateway: 'router' } }), 's/web1', 'gateway'],
  // Addresses no host can hold, in every role
  ...notAHost.map((ip): Case => [`vip ${ip}`, () => cluster({ service: { vip: ip } }), 's/lb/http', 'vip']),
  ...notAHost.map((ip): Case => [`fwmark service vip ${ip}`, () => cluster({ service: { vip: ip, port: undefined, fwmark: 1 } }), 's/lb/http', 'vip']),
  ...[...notAHost, 'fe80::1', 'febf::1'].map((ip): Case => [
    `director interface address ${ip}`,
    () => cluster({ director: { interfaces: [{ name: 'ens33', address: `${ip}/${ip.includes(':') ? 64 : 24}` }] } }),
    's/lb',
    'interfaces[0].address',
  ]),
  ...[...notAHost, 'fe80::5'].map((ip): Case => [
    `real server address ${ip}`,
    () => cluster({ server: { dataInterface: { name: 'ens33', address: `${ip}/${ip.includes(':') ? 120 : 24}` } } }),
    's/web1',
    'dataInterface.address',
  ]),
  // Link-local VIPs: routers do not forward them
  ...['169.254.1.1', '169.254.255.254', 'fe80::10', 'febf:ffff::1'].map((ip): Case => [`vip link-local ${ip}`, () => cluster({ service: { vip: ip } }), 's/lb/http', 'vip']),
  // A subnet's network or broadcast address as an interface address, and a prefix of 0
  ...['192.168.116.0/24', '192.168.116.255/24', '10.0.0.0/8', '10.255.255.255/8', '172.16.3.255/22', '172.16.4.0/22', '192.168.116.112/0', '2001:db8::5/0'].map((a): Case => [
    `real server address ${a}`,
    () => cluster({ server: { dataInterface: { name: 'ens33', address: a } } }),
    's/web1',
    'dataInterface.address',
  ]),
  ['director address a network address', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.0/24' }] } }), 's/lb', 'interfaces[0].address'],
  ['director address a broadcast address', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.127/25' }] } }), 's/lb', 'interfaces[0].address'],
  ['director prefix 0', () => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.111/0' }] } }), 's/lb', 'interfaces[0].address'],
  // A VIP on the edge of a director subnet would be that subnet's network or broadcast address
  ['vip the broadcast address of a director subnet', () => cluster({ service: { vip: '192.168.115.255' } }), 's/lb/http', 'vip'],
  ['vip the network address of a director subnet', () => cluster({ service: { vip: '192.168.116.0' } }), 's/lb/http', 'vip'],
  // A VIP that is a real server's address
  ['vip is the real server address', () => cluster({ service: { vip: '192.168.116.112' } }), 's/lb/http', 'realServers[web1]'],
  ['DR vip is the real server address', () => cluster({ kind: 'dr', service: { vip: '192.168.115.112' }, server: { dataInterface: { name: 'ens33', address: '192.168.115.112/24' } } }), 's/lb/http', 'realServers[web1]'],
  ['real server address is the vip of another service', () => cluster({ secondService: { vip: '192.168.116.112', port: 443 } }), 's/lb/http', 'realServers[web1]'],
  // Ports and numbers
  ['port 0', () => cluster({ service: { port: 0 } }), 's/lb/http', 'port'],
  ['port 65536', () => cluster({ service: { port: 65536 } }), 's/lb/http', 'port'],
  ['port fractional', () => cluster({ service: { port: 80.5 } }), 's/lb/http', 'port'],
  ['port as string', () => cluster({ service: { port: '80' as never } }), 's/lb/http', 'port'],
  ['real server port out of range', () => cluster({ options: { port: 70000 } }), 's/lb/http', 'realServers[web1].port'],
  ['ssh port out of range', () => cluster({ server: { connection: { host: 'web1', port: 0 } } }), 's/web1', 'connection.port'],
  ['bastion port out of range', () => cluster({ server: { connection: { host: 'web1', bastion: { host: 'jump', port: 99999 } } } }), 's/web1', 'connection.bastion.port'],
  ['weight negative', () => cluster({ options: { weight: -1 } }), 's/lb/http', 'realServers[web1].weight'],
  ['weight too large', () => cluster({ options: { weight: 2147483648 } }), 's/lb/http', 'realServers[web1].weight'],
  // ipvsadm 1.31 refuses -w above 65535 although the kernel would take it.
  ['weight above ipvsadm 1.31', () => cluster({ options: { weight: 65536 } }), 's/lb/http', 'realServers[web1].weight'],
  ['upper threshold too large', () => cluster({ options: { upperThreshold: 2147483648 } }), 's/lb/http', 'realServers[web1].upperThreshold'],
  ['lower threshold too large', () => cluster({ options: { upperThreshold: 2147483647, lowerThreshold: 2147483648 } }), 's/lb/http', 'realServers[web1].lowerThreshold'],
  ['lower threshold negative', () => cluster({ options: { lowerThreshold: -5 } }), 's/lb/http', 'realServers[web1].lowerThreshold'],
  ['lower above upper', () => cluster({ options: { upperThreshold: 10, lowerThreshold: 20 } }), 's/lb/http', 'realServers[web1].lowerThreshold'],
  // The kernel compares the two even when upper is 0 (no limit).
  ['lower without upper', () => cluster({ options: { lowerThreshold: 1 } }), 's/lb/http', 'realServers[web1].lowerThreshold'],
  ['health check not an object', () => cluster({ service: { healthCheck: 'http' as never } }), 's/lb/http', 'healthCheck'],
  ['health check of an unknown type', () => cluster({ service: { healthCheck: { type: 'ping' as never } } }), 's/lb/http', 'healthCheck.type'],
  ['health check path on a tcp check', () => cluster({ service: { healthCheck: { type: 'tcp', path: '/' } } }), 's/lb/http', 'healthCheck.path'],
  ['health check path without /', () => cluster({ service: { healthCheck: { type: 'http', path: 'index.html' } } }), 's/lb/http', 'healthCheck.path'],
  ['health check path with a comment sign', () => cluster({ service: { healthCheck: { type: 'http', path: '/a#b' } } }), 's/lb/http', 'healthCheck.path'],
  ['health check status code 600', () => cluster({ service: { healthCheck: { type: 'http', statusCodes: [600] } } }), 's/lb/http', 'healthCheck.statusCodes[0]'],
  ['health check status range backwards', () => cluster({ service: { healthCheck: { type: 'http', statusCodes: [200, '299-200'] } } }), 's/lb/http', 'healthCheck.statusCodes[1]'],
  ['health check status codes empty', () => cluster({ service: { healthCheck: { type: 'http', statusCodes: [] } } }), 's/lb/http', 'healthCheck.statusCodes'],
  ['health check command missing', () => cluster({ service: { healthCheck: { type: 'command' } } }), 's/lb/http', 'healthCheck.command'],
  ['health check command relative', () => cluster({ service: { healthCheck: { type: 'command', command: 'check-web' } } }), 's/lb/http', 'healthCheck.command'],
  ['health check command with a quote', () => cluster({ service: { healthCheck: { type: 'command', command: '/bin/check "x"' } } }), 's/lb/http', 'healthCheck.command'],
  ['health check command on an http check', () => cluster({ service: { healthCheck: { type: 'http', command: '/bin/true' } } }), 's/lb/http', 'healthCheck.command'],
  ['health check http on a UDP service', () => cluster({ service: { protocol: 'udp', healthCheck: { type: 'http' } } }), 's/lb/http', 'healthCheck.type'],
  ['health check tcp on a UDP service', () => cluster({ service: { protocol: 'udp', healthCheck: { type: 'tcp' } } }), 's/lb/http', 'healthCheck.type'],
  ['health check udp on a TCP service', () => cluster({ service: { healthCheck: { type: 'udp' } } }), 's/lb/http', 'healthCheck.type'],
  ['health check udp on an SCTP service', () => cluster({ service: { protocol: 'sctp', healthCheck: { type: 'udp' } } }), 's/lb/http', 'healthCheck.type'],
  ['health check payload of odd length', () => cluster({ service: { protocol: 'udp', healthCheck: { type: 'udp', payload: 'abc' } } }), 's/lb/http', 'healthCheck.payload'],
  ['health check payload not hex', () => cluster({ service: { protocol: 'udp', healthCheck: { type: 'udp', payload: 'zz' } } }), 's/lb/http', 'healthCheck.payload'],
  ['health check payload over 256 bytes', () => cluster({ service: { protocol: 'udp', healthCheck: { type: 'udp', payload: '00'.repeat(257) } } }), 's/lb/http', 'healthCheck.payload'],
  ['health check payload on a tcp check', () => cluster({ service: { healthCheck: { type: 'tcp', payload: '00' } } }), 's/lb/http', 'healthCheck.payload'],
  ['health check requireReply on an http check', () => cluster({ service: { healthCheck: { type: 'http', requireReply: true } } }), 's/lb/http', 'healthCheck.requireReply'],
  ['health check udp on a firewall-mark service without port', () => cluster({ service: { vip: undefined, port: undefined, fwmark: 3, healthCheck: { type: 'udp' } } }), 's/lb/http', 'healthCheck.port'],
  ['health check tcp on a firewall-mark service without port', () => cluster({ service: { vip: undefined, port: undefined, fwmark: 3, healthCheck: { type: 'tcp' } } }), 's/lb/http', 'healthCheck.port'],
  ['health check interval 0', () => cluster({ service: { healthCheck: { type: 'tcp', intervalSeconds: 0 } } }), 's/lb/http', 'healthCheck.intervalSeconds'],
  ['health check timeout fractional', () => cluster({ service: { healthCheck: { type: 'tcp', timeoutSeconds: 0.5 } } }), 's/lb/http', 'healthCheck.timeoutSeconds'],
  ['health check retries 101', () => cluster({ service: { healthCheck: { type: 'tcp', retries: 101 } } }), 's/lb/http', 'healthCheck.retries'],
  ['health check inhibitOnFailure not a boolean', () => cluster({ service: { healthCheck: { type: 'tcp', inhibitOnFailure: 'yes' as never } } }), 's/lb/http', 'healthCheck.inhibitOnFailure'],
  ['health check on a service of GUE servers (keepalived 2.2.7 has no tun_type)', () => cluster({ kind: 'tun', service: { healthCheck: { type: 'tcp' } }, server: { tunnel: { type: 'gue', port: 6080 } } as never }), 's/lb/http', 'realServers[web1]'],
  ['pair of one director', () => { const stack = new TerraformStack(appWith(), 's'); new LvsDirectorPair(stack, 'pair', { directors: [new LvsDirector(stack, 'lb', goodDirector)], virtualRouterId: 1 }); }, 's/pair', 'directors'],
  ['pair virtual router id 0', () => pair({ virtualRouterId: 0 }), 's/pair', 'virtualRouterId'],
  ['pair priorities equal', () => pair({ priorities: [100, 100] }), 's/pair', 'priorities'],
  ['pair priority 255 (the address owner)', () => pair({ priorities: [255, 100] }), 's/pair', 'priorities[0]'],
  ['pair VRRPv2 with a sub-second interval', () => pair({ advertIntervalSeconds: 0.5 }), 's/pair', 'advertIntervalSeconds'],
  ['pair VRRPv3 interval not in hundredths', () => pair({ vrrpVersion: 3, advertIntervalSeconds: 0.125 }), 's/pair', 'advertIntervalSeconds'],
  ['pair VRRP version 4', () => pair({ vrrpVersion: 4 }), 's/pair', 'vrrpVersion'],
  ['pair password with VRRPv3', () => pair({ vrrpVersion: 3, authPassword: 'abc' }), 's/pair', 'authPassword'],
  ['pair password of 9 characters', () => pair({ authPassword: '123456789' }), 's/pair', 'authPassword'],
  ['pair preempt delay 0', () => pair({ preempt: 0 }), 's/pair', 'preempt'],
  ['pair of NAT directors without a floating gateway', () => pair({}, { kind: 'nat' }), 's/web1', 'gateway'],
  ['pair of NAT directors whose server routes through a director address', () => pair({ gateway: '192.168.116.110/24' }, { kind: 'nat', natGateway: '192.168.116.111' }), 's/web1', 'gateway'],
  ['pair gateway on no subnet of the directors', () => pair({ gateway: '10.9.9.9/24' }), 's/pair', 'gateway'],
  ['pair gateway that is a director address', () => pair({ gateway: '192.168.116.111/24' }, { kind: 'nat', natGateway: '192.168.116.111' }), 's/pair', 'gateway'],
  ['pair VIP that is a director address', () => pair({}, { service: { vip: '192.168.115.111' } }), 's/pair', 'directors'],
  ['pair with IPv6 VIPs only', () => pair({}, { service: { vip: '2001:db8::10' }, ipv6: true }), 's/pair', 'directors'],
  ['pair unicast on an interface a director does not declare', () => pair({ interface: 'ens35' }), 's/pair', 'interface'],
  ['director in two pairs', () => pair({}, { pairTwice: true }), 's/pair2', 'directors'],
  ['persistence timeout 0', () => cluster({ service: { persistence: { timeout: 0 } } }), 's/lb/http', 'persistence.timeout'],
  ['persistence timeout over 31 days', () => cluster({ service: { persistence: { timeout: 2678401 } } }), 's/lb/http', 'persistence.timeout'],
  ['persistence timeout fractional', () => cluster({ service: { persistence: { timeout: 1.5 } } }), 's/lb/http', 'persistence.timeout'],
  ['persistence netmask not contiguous', () => cluster({ service: { persistence: { netmask: '255.0.255.0' } } }), 's/lb/http', 'persistence.netmask'],
  ['persistence netmask as a prefix on IPv4', () => cluster({ service: { persistence: { netmask: '24' } } }), 's/lb/http', 'persistence.netmask'],
  ['persistence netmask IPv6 on IPv4', () => cluster({ service: { persistence: { netmask: 'ffff:ffff::' } } }), 's/lb/http', 'persistence.netmask'],
  ...['0', '129', '255.255.255.0', '-1', '64.5', '', 'ffff::'].map((m): Case => [
    `IPv6 persistence netmask ${JSON.stringify(m)}`,
    () => cluster({ director: { interfaces: [{ name: 'eth0', address: '2001:db8::1/64' }] }, kind: 'tun', server: { dataInterface: { name: 'eth0', address: '2001:db8:1::5/64' } }, service: { vip: '2001:db8::10', persistence: { netmask: m } } }),
    's/lb/http',
    'persistence.netmask',
  ]),
  ['fwmark 0', () => cluster({ service: { vip: undefined, port: undefined, fwmark: 0 } }), 's/lb/http', 'fwmark'],
  ['fwmark above 32 bits', () => cluster({ service: { vip: undefined, port: undefined, fwmark: 4294967296 } }), 's/lb/http', 'fwmark'],
  ['fwmark with port', () => cluster({ service: { fwmark: 3 } }), 's/lb/http', 'fwmark'],
  ['fwmark with IPv6 VIP', () => cluster({ service: { vip: '2001:db8::1', port: undefined, fwmark: 3 } }), 's/lb/http', 'fwmark'],
  ['drain seconds negative', () => cluster({ director: { drainSeconds: -1 } }), 's/lb', 'drainSeconds'],
  ['drain seconds over a day', () => cluster({ director: { drainSeconds: 86401 } }), 's/lb', 'drainSeconds'],
  ['timeout not a duration', () => cluster({ server: { connection: { host: 'web1', timeout: '5 minutes' } } }), 's/web1', 'connection.timeout'],
  // Terraform would silently use 5m for a duration Go cannot hold.
  ...['2562048h', '153722868m', '9223372037s', '99999999999999999999h'].map((t): Case => [
    `timeout ${t} beyond Go's durations`,
    () => cluster({ server: { connection: { host: 'web1', timeout: t } } }),
    's/web1',
    'connection.timeout',
  ]),
  // Enumerations
  ['unknown scheduler', () => cluster({ service: { scheduler: 'random' as never } }), 's/lb/http', 'scheduler'],
  ['scheduler upper case', () => cluster({ service: { scheduler: 'RR' as never } }), 's/lb/http', 'scheduler'],
  ['unknown protocol', () => cluster({ service: { protocol: 'icmp' as never } }), 's/lb/http', 'protocol'],
  ['unknown web server', () => cluster({ server: { webServer: { kind: 'caddy' as never } } }), 's/web1', 'webServer.kind'],
  ['page with shell', () => cluster({ server: { webServer: { kind: 'nginx', page: 'hi $(id)' } } }), 's/web1', 'webServer.page'],
  // Topology
  ['duplicate VIP:port:protocol', () => cluster({ secondService: { vip: '192.168.115.111', port: 80 } }), 's/lb/http2', 'vip'],
  ['same real server twice', () => cluster({ twice: true }), 's/lb/http', 'realServers[web1]'],
  ['NAT server on no director subnet', () => cluster({ server: { dataInterface: { name: 'ens33', address: '10.1.1.5/24' } } }), 's/web1', 'realServers[web1]'],
  ['NAT gateway not a director address', () => cluster({ server: { gateway: '192.168.116.1' } }), 's/web1', 'gateway'],
  ['NAT gateway a director address on another subnet', () => cluster({ server: { gateway: '192.168.115.111' } }), 's/web1', 'gateway'],
  ['DR server on no director subnet', () => cluster({ kind: 'dr', server: { dataInterface: { name: 'ens33', address: '10.1.1.5/24' } } }), 's/web1', 'realServers[web1]'],
  ['DR port remap', () => cluster({ kind: 'dr', server: { dataInterface: { name: 'ens33', address: '192.168.115.112/24' } }, options: { port: 8080 } }), 's/lb/http', 'realServers[web1].port'],
  ['TUN port remap', () => cluster({ kind: 'tun', options: { port: 8080 } }), 's/lb/http', 'realServers[web1].port'],
  ['IPv6 server in IPv4 service', () => cluster({ kind: 'tun', server: { dataInterface: { name: 'eth0', address: '2001:db8::5/64' } } }), 's/lb/http', 'realServers[web1]'],
  // From untyped callers: a string is not a boolean, and no number may be non-finite
  ...['false', 'true', 0, 1, {}].map((v): Case => [`ownsWholeTable ${JSON.stringify(v)}`, () => cluster({ director: { ownsWholeTable: v as never } }), 's/lb', 'ownsWholeTable']),
  ...[false, true, 'yes', 300].map((v): Case => [`persistence ${JSON.stringify(v)}`, () => cluster({ service: { persistence: v as never } }), 's/lb/http', 'persistence']),
  ...[NaN, Infinity, -Infinity, '1'].flatMap((n): Case[] => [
    [`ssh port ${n}`, () => cluster({ server: { connection: { host: 'web1', port: n as never } } }), 's/web1', 'connection.port'],
    [`bastion port ${n}`, () => cluster({ server: { connection: { host: 'web1', bastion: { host: 'jump', port: n as never } } } }), 's/web1', 'connection.bastion.port'],
    [`drain seconds ${n}`, () => cluster({ director: { drainSeconds: n as never } }), 's/lb', 'drainSeconds'],
    [`service port ${n}`, () => cluster({ service: { port: n as never } }), 's/lb/http', 'port'],
    [`fwmark ${n}`, () => cluster({ service: { vip: undefined, port: undefined, fwmark: n as never } }), 's/lb/http', 'fwmark'],
    [`persistence timeout ${n}`, () => cluster({ service: { persistence: { timeout: n as never } } }), 's/lb/http', 'persistence.timeout'],
    [`real server port ${n}`, () => cluster({ options: { port: n as never } }), 's/lb/http', 'realServers[web1].port'],
    [`weight ${n}`, () => cluster({ options: { weight: n as never } }), 's/lb/http', 'realServers[web1].weight'],
    [`upper threshold ${n}`, () => cluster({ options: { upperThreshold: n as never } }), 's/lb/http', 'realServers[web1].upperThreshold'],
    [`lower threshold ${n}`, () => cluster({ options: { lowerThreshold: n as never } }), 's/lb/http', 'realServers[web1].lowerThreshold'],
  ]),
  ['port for a real server of a firewall-mark service', () => cluster({ service: { vip: undefined, port: undefined, fwmark: 3 }, options: { port: 8080 } }), 's/lb/http', 'realServers[web1].port'],
  ['missing connection', () => cluster({ server: { connection: undefined } }), 's/web1', 'connection'],
  ['missing director props', () => cluster({ director: null }), 's/lb', 'props'],
  // Shell metacharacters and newlines in every string that reaches a host or Terraform
  ...hostile.map((v): Case => [`host name ${JSON.stringify(v)}`, () => cluster({ server: { connection: { host: v } } }), 's/web1', 'connection.host']),
  ...hostile.map((v): Case => [`user ${JSON.stringify(v)}`, () => cluster({ server: { connection: { host: 'web1', user: v } } }), 's/web1', 'connection.user']),
  ...hostile.map((v): Case => [`real server interface ${JSON.stringify(v)}`, () => cluster({ server: { dataInterface: { name: v, address: '192.168.116.112/24' } } }), 's/web1', 'dataInterface.name']),
  ...hostile.map((v): Case => [`director interface ${JSON.stringify(v)}`, () => cluster({ director: { interfaces: [{ name: v, address: '192.168.115.111/24' }] } }), 's/lb', 'interfaces[0].name']),
  ...hostile
    .filter((v) => v !== '../../etc')
    .map((v): Case => [`key path ${JSON.stringify(v)}`, () => cluster({ server: { connection: { host: 'web1', privateKeyPath: v } } }), 's/web1', 'connection.privateKeyPath']),
  ...hostile.map((v): Case => [`bastion host ${JSON.stringify(v)}`, () => cluster({ server: { connection: { host: 'web1', bastion: { host: v } } } }), 's/web1', 'connection.bastion.host']),
  ['interface name too long', () => cluster({ server: { dataInterface: { name: 'a234567890123456', address: '192.168.116.112/24' } } }), 's/web1', 'dataInterface.name'],
  ['host key with shell', () => cluster({ server: { connection: { host: 'web1', hostKey: 'ssh-ed25519 AAAA;id' } } }), 's/web1', 'connection.hostKey'],
  ['host key of unknown type', () => cluster({ server: { connection: { host: 'web1', hostKey: 'ssh-foo AAAA' } } }), 's/web1', 'connection.hostKey'],
  ...badHostKeys.map((k): Case => [`host key ${JSON.stringify(k)}`, () => cluster({ server: { connection: { host: 'web1', hostKey: k } } }), 's/web1', 'connection.hostKey']),
  ...badHostKeys.map((k): Case => [
    `bastion host key ${JSON.stringify(k)}`,
    () => cluster({ server: { connection: { host: 'web1', bastion: { host: 'jump', hostKey: k } } } }),
    's/web1',
    'connection.bastion.hostKey',
  ]),
];

/** A stack with director lb (service http) and NAT server web1 in it. */
function base() {
  const stack = new TerraformStack(appWith(), 's');
  const lb = new LvsDirector(stack, 'lb', goodDirector);
  const http = lb.addService('http', goodService);
  http.addRealServer(new NatRealServer(stack, 'web1', goodServer));
  return { stack, lb, http };
}

const idCases: Case[] = [
  ['director id taken', () => new LvsDirector(base().stack, 'lb', goodDirector), 's/lb', 'id'],
  ['real server id taken by the director', () => new NatRealServer(base().stack, 'lb', goodServer), 's/lb', 'id'],
  ['real server id taken', () => new DrRealServer(base().stack, 'web1', goodServer), 's/web1', 'id'],
  ['TUN real server id taken', () => new TunRealServer(base().stack, 'web1', goodServer), 's/web1', 'id'],
  ['retired server id taken', () => new RetiredRealServer(base().stack, 'web1', { connection: { host: 'web1' } }), 's/web1', 'id'],
  ['service id taken', () => base().lb.addService('http', { vip: '192.168.115.111', port: 443 }), 's/lb/http', 'id'],
  ["service id taken by the director's Host step", () => base().lb.addService('Host', { vip: '192.168.115.111', port: 443 }), 's/lb/Host', 'id'],
  ["service id taken by the director's Services step", () => base().lb.addService('Services', { vip: '192.168.115.111', port: 443 }), 's/lb/Services', 'id'],
  ["first service's id is the one of the Services step", () => new LvsDirector(new TerraformStack(appWith(), 's'), 'lb', goodDirector).addService('Services', goodService), 's/lb/Services', 'id'],
  ['id taken once "/" is escaped', () => {
    const { stack } = base();
    new NatRealServer(stack, 'a/b', goodServer);
    new NatRealServer(stack, 'a--b', goodServer);
  }, 's/a--b', 'id'],
  ...['', undefined, null, 5, {}].flatMap((id): Case[] => [
    [`director id ${JSON.stringify(id)}`, () => new LvsDirector(new TerraformStack(appWith(), 's'), id as never, goodDirector), 's', 'id'],
    [`real server id ${JSON.stringify(id)}`, () => new NatRealServer(base().stack, id as never, goodServer), 's', 'id'],
    [`retired server id ${JSON.stringify(id)}`, () => new RetiredRealServer(base().stack, id as never, { connection: { host: 'web1' } }), 's', 'id'],
    [`service id ${JSON.stringify(id)}`, () => base().lb.addService(id as never, goodService), 's/lb', 'id'],
  ]),
];

/** What `build` threw, if anything. */
function thrown(build: () => unknown): unknown {
  try {
    build();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('construct ids: empty or taken ones fail in the same form', () => {
  it.each(idCases)('%s', (_name, build, path, field) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(LvsValidationError);
    expect((error as LvsValidationError).message).toMatch(new RegExp(`^${path}: ${field}: `));
  });

  it('names what holds the id', () => {
    expect(() => new DrRealServer(base().stack, 'web1', goodServer)).toThrow(new LvsValidationError('s/web1', 'id', '"web1" is already taken in s (NatRealServer)'));
    expect(() => base().lb.addService('Host', goodService)).toThrow('s/lb/Host: id: "Host" is already taken in s/lb (HostStep)');
  });
});

/** Two real servers (or a server and what `second` builds) whose ids differ only in case or punctuation. */
function twoServers(first: string, second: string | ((stack: TerraformStack, lb: LvsDirector) => unknown)) {
  const stack = new TerraformStack(appWith(), 's');
  const lb = new LvsDirector(stack, 'lb', goodDirector);
  const http = lb.addService('http', goodService);
  http.addRealServer(new NatRealServer(stack, first, goodServer));
  if (typeof second === 'function') second(stack, lb);
  else http.addRealServer(new NatRealServer(stack, second, { ...goodServer, dataInterface: { name: 'ens33', address: '192.168.116.113/24' } }));
}

describe('names that fold together fail at construction, naming both constructs', () => {
  // logicalIdFor: everything but letters, digits, '_' and '-' becomes '_'.
  it.each([
    ['web.1', 'web_1'],
    ['web 1', 'web_1'],
    ['web:1', 'web@1'],
    ['1web', '_1web'],
  ])('%s and %s share a Terraform resource name', (a, b) => {
    expect(() => twoServers(a, b)).toThrow(new RegExp(`^s/${b}: id: its Terraform resource name \\S+_Host is also that of s/${a.replace('.', '\\.')};`));
  });

  // ownerKeyFor: lower case, and runs of anything but letters, digits and '-' become '-'.
  it.each([
    ['web1', 'Web1'],
    ['web1', 'WEB1'],
    ['web-1', 'web 1'],
    ['web-1', 'Web_1'],
    ['web1', 'web1.'],
    ['web--1', 'web-.1'],
  ])('%s and %s share a state key', (a, b) => {
    expect(() => twoServers(a, b)).toThrow(`s/${b}: id: its state key s-${a.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+$/, '')} is also that of s/${a}; ids must differ in more than case and punctuation`);
  });

  it("a construct whose key is that of a director's Services step, in either order", () => {
    expect(() => twoServers('web1', (stack) => new NatRealServer(stack, 'LB.Services', goodServer))).toThrow(
      's/LB.Services: id: its state key s-lb-services is also that of s/lb',
    );
    const stack = new TerraformStack(appWith(), 's');
    new DrRealServer(stack, 'lb-services', goodServer);
    const lb = new LvsDirector(stack, 'lb', goodDirector);
    expect(() => lb.addService('http', goodService)).toThrow('s/lb: id: its state key s-lb-services is also that of s/lb-services');
  });

  it('a server in a nested scope and one whose id spells the same path', () => {
    expect(() =>
      twoServers('rack_web1', (stack) => new NatRealServer(new Construct(stack, 'rack'), 'web1', goodServer)),
    ).toThrow('s/rack/web1: id: its Terraform resource name rack_web1_Host is also that of s/rack_web1');
  });

  it('a retired server whose names are those of a live one', () => {
    expect(() => twoServers('web_2', (stack) => new RetiredRealServer(stack, 'web.2', { connection: { host: 'web2' } }))).toThrow(
      's/web.2: id: its Terraform resource name web_2_Host is also that of s/web_2',
    );
    expect(() => twoServers('web2', (stack) => new RetiredRealServer(stack, 'Web2', { connection: { host: 'web2' } }))).toThrow(
      's/Web2: id: its state key s-web2 is also that of s/web2',
    );
  });

  it('two stacks whose ids fold together cannot share state keys on a host', () => {
    const app = appWith();
    const server = (stackId: string) => new NatRealServer(new TerraformStack(app, stackId), 'web1', goodServer);
    server('nat-stack');
    expect(() => server('Nat_Stack')).toThrow('Nat_Stack/web1: id: its state key nat-stack-web1 is also that of nat-stack/web1');
  });

  it('a bastion that is not an object fails in the same form', () => {
    for (const bastion of [null, 'jump', 1]) {
      expect(() => new NatRealServer(new TerraformStack(appWith(), 's'), 'web1', { ...goodServer, connection: { host: 'web1', bastion: bastion as never } })).toThrow(
        /^s\/web1: connection\.bastion: expected an object with a host, got /,
      );
    }
  });

  it('distinct names build, and each stack has names of its own', () => {
    expect(() => twoServers('web1', 'web2')).not.toThrow();
    expect(() => twoServers('web1', 'web_1')).not.toThrow();
    const app = appWith();
    for (const name of ['a', 'b']) {
      const stack = new TerraformStack(app, name);
      new LvsDirector(stack, 'lb', goodDirector).addService('http', goodService).addRealServer(new NatRealServer(stack, 'web1', goodServer));
    }
  });
});

describe('bad input fails with the construct path and the field', () => {
  it('has a large corpus', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('%s', (_name, build, path, field) => {
    const error = thrown(build);
    expect(error).toBeInstanceOf(LvsValidationError);
    const v = error as LvsValidationError;
    expect({ path: v.constructPath, field: v.field }).toEqual({ path, field });
    expect(v.message.startsWith(`${path}: ${field}: `)).toBe(true);
  });

  it('good input builds', () => {
    expect(() => cluster({})).not.toThrow();
  });
});

describe('addresses that can be a VIP, RIP or DIP build', () => {
  it('a /31 and a /32 have no network or broadcast address; IPv4 link-local works on one link', () => {
    expect(() => cluster({ director: { interfaces: [{ name: 'ens33', address: '192.168.115.110/31' }, { name: 'ens34', address: '192.168.116.111/24' }] } })).not.toThrow();
    expect(() => cluster({ kind: 'tun', server: { dataInterface: { name: 'eth0', address: '10.1.1.255/32' } } })).not.toThrow();
    expect(() => cluster({ kind: 'tun', server: { dataInterface: { name: 'eth0', address: '169.254.7.7/16' } } })).not.toThrow();
    expect(() => cluster({ service: { vip: '192.168.117.255' } })).not.toThrow();
  });

  it('a VIP added after a server refuses that server address', () => {
    const stack = new TerraformStack(appWith(), 's');
    const d = new LvsDirector(stack, 'lb', goodDirector);
    d.addService('http', goodService).addRealServer(new NatRealServer(stack, 'web1', goodServer));
    expect(() => d.addService('https', { vip: '192.168.116.112', port: 443 })).toThrow(
      's/lb/https: vip: 192.168.116.112 is the address of real server s/web1',
    );
  });
});

describe('host keys', () => {
  /** The host keys as they reach Terraform's state. */
  function pinned(hostKey: string, bastionKey = hostKey) {
    const stack = new TerraformStack(appWith(), 's');
    new DrRealServer(stack, 'web1', { ...goodServer, connection: { host: 'web1', hostKey, bastion: { host: 'jump', hostKey: bastionKey } } });
    const r = resourcesOf(stack)[0].attributes;
    return [r.host_key, r.bastion_host_key];
  }

  it('a whole ed25519 key is taken as it is, also one whose key starts with a zero byte', () => {
    // Built from node:crypto: ssh2's generator drops a leading zero byte of the key (1 key in 256), which OpenSSH never does.
    const generated = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    for (const raw of [generated, Buffer.concat([Buffer.alloc(1), generated.subarray(1)])]) {
      const key = `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]).toString('base64')}`;
      expect(pinned(key)).toEqual([key, key]);
    }
  });

  it.each([
    ['rsa', { bits: 2048 }],
    ['ecdsa', { bits: 256 }],
    ['ecdsa', { bits: 384 }],
    ['ecdsa', { bits: 521 }],
  ])('a whole %s key %j is taken as it is', (type, options) => {
    const key = ssh2.utils.generateKeyPairSync(type, options).public.trim();
    expect(pinned(key)).toEqual([key, key]);
  });

  it('a security-key ed25519 key (type, key, application)', () => {
    const type = 'sk-ssh-ed25519@openssh.com';
    const key = `${type} ${Buffer.concat([sshString(Buffer.from(type)), sshString(Buffer.alloc(32, 7)), sshString(Buffer.from('ssh:'))]).toString('base64')}`;
    expect(pinned(key)[0]).toBe(key);
  });

  it("a .pub file's comment, newline and spacing are dropped: one key, one spelling in Terraform", () => {
    expect(pinned(`${ed25519} root@web1\n`, `  ${ed25519.replace(' ', '\t')}   ops key (2024)  `)).toEqual([ed25519, ed25519]);
  });

  it('says what is wrong', () => {
    const message = (hostKey: string) => {
      try {
        return pinned(hostKey);
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(message(badHostKeys[0])).toBe('s/web1: connection.hostKey: the key data is not a whole ssh-ed25519 key (its type name, then a 32-byte key); copy the whole key');
    expect(message(badHostKeys[1])).toMatch(/^s\/web1: connection\.hostKey: the key data "AAAA\S+" is not complete base64; copy the whole key$/);
    expect(message(`ssh-rsa ${ed25519Data}`)).toBe('s/web1: connection.hostKey: the key data is an ssh-ed25519 key, not ssh-rsa');
    expect(message(`web1,10.0.0.12 ${ed25519}`)).toMatch(/; remove "web1,10\.0\.0\.12" in front \(a known_hosts line's host names\)$/);
    expect(message(`${ed25519} ${ed25519}`)).toBe('s/web1: connection.hostKey: holds more than one line or key; give one key');
  });
});

describe('values at the limits of ipvsadm 1.31 and the kernel build', () => {
  it('persistence 31 days, weight 65535, thresholds INT_MAX, connection timeout 2562047h', () => {
    expect(() =>
      cluster({
        service: { persistence: { timeout: 2678400, netmask: '255.255.255.0' } },
        options: { weight: 65535, upperThreshold: 2147483647, lowerThreshold: 2147483647 },
        server: { connection: { host: 'web1', timeout: '2562047h' } },
      }),
    ).not.toThrow();
    expect(() => cluster({ options: { weight: 0, upperThreshold: 5, lowerThreshold: 5 } })).not.toThrow();
    expect(() => cluster({ director: { drainSeconds: 86400 } })).not.toThrow();
  });

  it('fwmark 2^32-1, and an IPv6 prefix as ipvsadm -Sn prints it', () => {
    const stack = new TerraformStack(appWith(), 's');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '2001:db8::1/64' }] });
    d.addService('mark', { fwmark: 4294967295 });
    d.addService('v6', { vip: '2001:db8::10', persistence: { netmask: '064' } });
    expect(d.desiredRules).toEqual(['-A -f 4294967295 -s wlc', '-A -t [2001:db8::10]:80 -s wlc -p 300 -M 64']);
  });
});
