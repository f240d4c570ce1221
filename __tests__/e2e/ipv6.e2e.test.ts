/**
 * IPv6 and dual stack on the lab's real kernels: one stack with a DR, a NAT
 * and a TUN cluster (one lab LAN each). DR and NAT real servers are
 * dual-stack, one construct per host serving an IPv4 and an IPv6 service;
 * the TUN service is IPv6 only (IPv6-in-IPv6 to ip6tnl0). The lab gives
 * every data interface an fd00:<subnet>::<host>/64 address beside its IPv4 one.
 *
 * @lab dr nat tun
 */
import { join } from 'path';
import { readStack } from '../../synth/read';
import { labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'ipv6';
const DIRECTORS = ['dr-director', 'nat-director', 'tun-director'];
const WEBS = ['dr-web1', 'dr-web2', 'nat-web1', 'nat-web2', 'tun-web1', 'tun-web2'];
const HOSTS = [...DIRECTORS, ...WEBS];
/** Outside what the other suites use on each subnet. */
const DR_VIP4 = '192.168.115.170';
const DR_VIP6 = 'fd00:115::170';
const NAT_VIP4 = '192.168.115.171';
const NAT_VIP6 = 'fd00:115::171';
const TUN_VIP6 = 'fd00:100::150';

const APP = `
const dr = new LvsDirector(stack, 'dr', {
  connection: at(2221),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }, { name: 'ens33', address: 'fd00:115::111/64' }],
});
const drV4 = dr.addService('v4', { vip: ${JSON.stringify(DR_VIP4)}, scheduler: 'rr' });
const drV6 = dr.addService('v6', { vip: ${JSON.stringify(DR_VIP6)}, scheduler: 'rr' });
const nat = new LvsDirector(stack, 'nat', {
  connection: at(2211),
  interfaces: [
    { name: 'ens33', address: '192.168.115.111/24' }, { name: 'ens33', address: 'fd00:115::111/64' },
    { name: 'ens34', address: '192.168.116.111/24' }, { name: 'ens34', address: 'fd00:116::111/64' },
  ],
});
const natV4 = nat.addService('v4', { vip: ${JSON.stringify(NAT_VIP4)}, scheduler: 'rr' });
const natV6 = nat.addService('v6', { vip: ${JSON.stringify(NAT_VIP6)}, scheduler: 'rr' });
const tun = new LvsDirector(stack, 'tun', {
  connection: at(2231),
  interfaces: [{ name: 'eth0', address: '192.168.100.100/24' }, { name: 'eth0', address: 'fd00:100::100/64' }],
});
const tunV6 = tun.addService('v6', { vip: ${JSON.stringify(TUN_VIP6)}, scheduler: 'rr' });
for (const n of [1, 2]) {
  const host = 111 + n;
  const d = new DrRealServer(stack, 'dr-web' + n, {
    connection: at(2221 + n),
    dataInterface: { name: 'ens33', address: '192.168.115.' + host + '/24', ipv6Address: 'fd00:115::' + host + '/64' },
    webServer: { kind: 'httpd' },
  });
  drV4.addRealServer(d);
  drV6.addRealServer(d);
  const m = new NatRealServer(stack, 'nat-web' + n, {
    connection: at(2211 + n),
    dataInterface: { name: 'ens33', address: '192.168.116.' + host + '/24', ipv6Address: 'fd00:116::' + host + '/64' },
    webServer: { kind: 'nginx' },
  });
  natV4.addRealServer(m);
  natV6.addRealServer(m);
  const t = new TunRealServer(stack, 'tun-web' + n, {
    connection: at(2231 + n),
    dataInterface: { name: 'eth0', address: '192.168.100.' + n + '/24', ipv6Address: 'fd00:100::' + n + '/64' },
    webServer: { kind: 'nginx' },
  });
  tunV6.addRealServer(t);
}
`;

/** The real servers that answered `count` requests to `vip` from `client`, sorted. */
const answered = (client: string, vip: string, count: number) =>
  curlVip(client, vip.includes(':') ? `[${vip}]` : vip, count)
    .map((a) => a.split(' ')[0])
    .sort();

describe('IPv6 and dual-stack real servers on the lab kernels', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys; each kernel holds the declared table, IPv6 entries included', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 12 added, 0 changed, 0 destroyed/);
    const directors = readStack(join(project.dir, 'cdktf.out'), STACK).topology!.directors;
    directors.forEach((d, i) => expect(sortedLines(sh(DIRECTORS[i], 'ipvsadm -Sn'))).toEqual(sortedLines(d.rules.join('\n'))));
    expect(directors[0].rules).toContain(`-a -t [${DR_VIP6}]:80 -r [fd00:115::112]:80 -g -w 1`);
  });

  it('DR: one construct per host serves the IPv4 and the IPv6 VIP; each server holds both on lo', () => {
    expect(answered('dr-client', DR_VIP6, 4)).toEqual(['dr-web1', 'dr-web1', 'dr-web2', 'dr-web2']);
    expect(answered('dr-client', DR_VIP4, 4)).toEqual(['dr-web1', 'dr-web1', 'dr-web2', 'dr-web2']);
    for (const h of ['dr-web1', 'dr-web2']) {
      expect(sh(h, 'ip -o addr show dev lo')).toMatch(new RegExp(`inet6 ${DR_VIP6}/128 `));
      expect(sh(h, 'ip -o addr show dev lo')).toMatch(new RegExp(`inet ${DR_VIP4}/32 `));
    }
  });

  it('DR: only the director answers neighbour solicitations for the IPv6 VIP', () => {
    const directorMac = sh('dr-director', 'cat /sys/class/net/ens33/address').trim();
    // Neighbour advertisements (ICMPv6 type 136) the client receives while it resolves the VIP afresh, with their sender's MAC.
    const out = sh('dr-client', [
      'ip -6 neigh flush dev ens33',
      "timeout 6 tcpdump -l -n -e -i ens33 'icmp6 and ip6[40] == 136' 2>/dev/null > /tmp/na.txt &",
      'sleep 1.5',
      `for i in 1 2 3; do ip -6 neigh flush dev ens33; ping -6 -c 1 -W 1 ${DR_VIP6} >/dev/null || true; sleep 0.5; done`,
      'wait',
      `grep 'tgt is ${DR_VIP6}' /tmp/na.txt | awk '{ print $2 }' | sort | uniq -c; rm -f /tmp/na.txt`,
    ].join('\n'));
    const senders = out.trim().split('\n').map((l) => l.trim().split(/\s+/)[1]);
    expect(senders).toEqual([directorMac]);
  });

  it('NAT: dual-stack servers answer both VIPs, each family routed back through the director', () => {
    expect(answered('nat-client', NAT_VIP6, 4)).toEqual(['nat-web1', 'nat-web1', 'nat-web2', 'nat-web2']);
    expect(answered('nat-client', NAT_VIP4, 4)).toEqual(['nat-web1', 'nat-web1', 'nat-web2', 'nat-web2']);
    for (const h of ['nat-web1', 'nat-web2']) {
      expect(sh(h, 'ip -6 route show default')).toMatch(/^default via fd00:116::111 dev ens33/m);
      expect(sh(h, 'ip -4 route show default')).toMatch(/^default via 192\.168\.116\.111 dev ens33/m);
    }
  });

  it('TUN: IPv6-in-IPv6 reaches each server, which holds the VIP on ip6tnl0', () => {
    expect(answered('tun-client', TUN_VIP6, 4)).toEqual(['tun-web1', 'tun-web1', 'tun-web2', 'tun-web2']);
    for (const h of ['tun-web1', 'tun-web2']) expect(sh(h, 'ip -o addr show dev ip6tnl0')).toContain(`inet6 ${TUN_VIP6}/128`);
  });

  it('destroy returns every host to its state before the deploy', () => {
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
