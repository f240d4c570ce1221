/**
 * The default topologies: the clusters the tutorial builds by hand. Hosts are
 * reached on their data addresses unless a config file says otherwise.
 */
import { ClusterConfig } from './config';

export type ClusterMode = 'nat' | 'dr' | 'tun';

export const STACK_MODES: Record<string, ClusterMode> = {
  'nat-stack': 'nat',
  'dr-stack': 'dr',
  'tun-stack': 'tun',
};

export const DEFAULT_TOPOLOGIES: Record<ClusterMode, ClusterConfig> = {
  // NAT: director with an outside (115) and an inside (116) NIC; web nodes behind it use it as gateway.
  nat: {
    director: {
      connection: { host: '192.168.115.111' },
      interfaces: [
        { name: 'ens33', address: '192.168.115.111/24' },
        { name: 'ens34', address: '192.168.116.111/24' },
      ],
    },
    service: { vip: '192.168.115.111', port: 80, protocol: 'tcp', scheduler: 'rr' },
    realServers: [
      { name: 'web1', connection: { host: '192.168.116.112' }, interface: { name: 'ens33', address: '192.168.116.112/24' }, webServer: 'nginx' },
      { name: 'web2', connection: { host: '192.168.116.113' }, interface: { name: 'ens33', address: '192.168.116.113/24' }, webServer: 'nginx' },
    ],
  },
  // DR: one segment; the VIP is an alias on the director's ens33 and sits on lo of the web nodes.
  dr: {
    director: {
      connection: { host: '192.168.115.111' },
      interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
    },
    service: { vip: '192.168.115.110', port: 80, protocol: 'tcp', scheduler: 'rr' },
    realServers: [
      { name: 'web1', connection: { host: '192.168.115.112' }, interface: { name: 'ens33', address: '192.168.115.112/24' }, webServer: 'httpd' },
      { name: 'web2', connection: { host: '192.168.115.113' }, interface: { name: 'ens33', address: '192.168.115.113/24' }, webServer: 'httpd' },
    ],
  },
  // TUN: the VIP sits on tunl0 of the director and the web nodes; requests travel in IPIP.
  tun: {
    director: {
      connection: { host: '192.168.100.100' },
      interfaces: [{ name: 'eth0', address: '192.168.100.100/24' }],
    },
    service: { vip: '192.168.100.101', port: 80, protocol: 'tcp', scheduler: 'rr' },
    realServers: [
      { name: 'web1', connection: { host: '192.168.100.1' }, interface: { name: 'eth0', address: '192.168.100.1/24' }, webServer: 'nginx' },
      { name: 'web2', connection: { host: '192.168.100.2' }, interface: { name: 'eth0', address: '192.168.100.2/24' }, webServer: 'nginx' },
    ],
  },
};
