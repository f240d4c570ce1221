/**
 * The `conntrack` tunable on the lab's real kernel: a NAT cluster on the nat
 * hosts whose director also runs a stateful firewall (FORWARD accepts only
 * established traffic, as hardened hosts often do). IPVS takes the requests
 * before FORWARD, but the real servers' replies pass through it: with
 * conntrack on, IPVS keeps netfilter's entry of each connection, so the
 * replies are established and pass; with it off they are dropped.
 */
import { labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'conntrack';
const HOSTS = ['nat-director', 'nat-web1', 'nat-web2'];
/** Outside what the other suites use on 192.168.115.0/24. */
const VIP = '192.168.115.170';
const FIREWALL = ['-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-j DROP'];

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2211),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }, { name: 'ens34', address: '192.168.116.111/24' }],
  tunables: { conntrack: true },
});
const service = director.addService('http', { vip: ${JSON.stringify(VIP)}, scheduler: 'rr' });
for (const n of [1, 2]) {
  service.addRealServer(new NatRealServer(stack, 'web' + n, {
    connection: at(2211 + n),
    dataInterface: { name: 'ens33', address: '192.168.116.11' + (1 + n) + '/24' },
    webServer: { kind: 'nginx' },
  }));
}
`;

describe('conntrack on the lab kernel: a NAT director behind a stateful firewall', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // What the firewall's commands load (iptables loads bpfilter too) is not the deploy's: loaded before the snapshots.
    sh('nat-director', 'iptables -w -n -L FORWARD >/dev/null; modprobe xt_conntrack');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  const firewall = (on: boolean) =>
    sh('nat-director', on ? FIREWALL.map((r) => `iptables -w -A FORWARD ${r}`).join('\n') : FIREWALL.map((r) => `while iptables -w -D FORWARD ${r} 2>/dev/null; do :; done`).join('\n'));

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      firewall(false);
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys with conntrack on: the replies are established, pass the firewall, and netfilter holds each connection', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    expect(sh('nat-director', 'sysctl -n net.ipv4.vs.conntrack').trim()).toBe('1');
    firewall(true);
    expect(curlVip('nat-client', VIP, 2).sort()).toEqual(['web1 (192.168.116.112)', 'web2 (192.168.116.113)']);
    // The entry IPVS keeps: the client's request to the VIP, answered by the real server.
    expect(sh('nat-director', 'cat /proc/net/nf_conntrack')).toMatch(new RegExp(`src=192\\.168\\.115\\.200 dst=${VIP.replace(/\./g, '\\.')} .* src=192\\.168\\.116\\.11[23] dst=192\\.168\\.115\\.200 `));
  });

  it('with conntrack off, the firewall drops the replies: requests fail until it is on again', () => {
    sh('nat-director', 'sysctl -qw net.ipv4.vs.conntrack=0');
    try {
      expect(sh('nat-client', `curl -s -m 3 http://${VIP}/ || echo FAILED`).trim()).toBe('FAILED');
    } finally {
      sh('nat-director', 'sysctl -qw net.ipv4.vs.conntrack=1');
    }
    expect(curlVip('nat-client', VIP, 2).sort()).toEqual(['web1 (192.168.116.112)', 'web2 (192.168.116.113)']);
  });

  it('destroy returns every host to its state before the deploy', () => {
    firewall(false);
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
