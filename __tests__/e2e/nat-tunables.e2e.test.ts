/**
 * Two IPVS tunables whose effect shows on a NAT director, on the lab's real
 * kernel (the nat hosts).
 *
 * `conntrack`: the director also runs a stateful firewall (FORWARD accepts
 * only established traffic, as hardened hosts often do). IPVS takes the
 * requests before FORWARD, but the real servers' replies pass through it:
 * with conntrack on, IPVS keeps netfilter's entry of each connection, so the
 * replies are established and pass; with it off they are dropped.
 *
 * `conn_reuse_mode`: a client that opens a new connection from the port of
 * one that just ended (its entry in TIME_WAIT) is scheduled afresh under the
 * 6.1 kernel's 1, which `'auto'` keeps; under 0, what `'auto'` sets on
 * kernels before 5.9 (where 1 stalls such a SYN for a second), it goes back
 * to the same server.
 *
 * @lab nat
 */
import { labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'nat-tunables';
const HOSTS = ['nat-director', 'nat-web1', 'nat-web2'];
/** Outside what the other suites use on 192.168.115.0/24. */
const VIP = '192.168.115.170';
/** Where each server answers with its name and closes first, so the client's port is free again at once. */
const REUSE_PORT = 8099;
const WEBS = ['nat-web1', 'nat-web2'];
const FIREWALL = ['-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT', '-j DROP'];

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2211),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }, { name: 'ens34', address: '192.168.116.111/24' }],
  tunables: { conntrack: true },
});
const services = [
  director.addService('http', { vip: ${JSON.stringify(VIP)}, scheduler: 'rr' }),
  director.addService('reuse', { vip: ${JSON.stringify(VIP)}, port: ${REUSE_PORT}, scheduler: 'rr' }),
];
for (const n of [1, 2]) {
  const web = new NatRealServer(stack, 'web' + n, {
    connection: at(2211 + n),
    dataInterface: { name: 'ens33', address: '192.168.116.11' + (1 + n) + '/24' },
    webServer: { kind: 'nginx' },
  });
  for (const s of services) s.addRealServer(web);
}
`;

describe('conntrack and conn_reuse_mode on a NAT director', () => {
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

  const stopListeners = () => WEBS.forEach((h) => sh(h, `pkill -f '^socat TCP4-LISTEN:${REUSE_PORT}' || true`));

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      stopListeners();
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

  it('conn_reuse_mode: a connection from the port of one just ended is scheduled afresh under 1 (auto on 6.1), and sent to the same server under 0', () => {
    WEBS.forEach((h, i) =>
      sh(h, [
        `nohup socat TCP4-LISTEN:${REUSE_PORT},fork,reuseaddr SYSTEM:'echo web${i + 1}' >/dev/null 2>&1 &`,
        `for i in $(seq 50); do socat -u TCP4:127.0.0.1:${REUSE_PORT} - >/dev/null 2>&1 && break; sleep 0.1; done`,
      ].join('\n')),
    );
    // -u: the client only reads, so the server closes first and the client's port is not held in TIME_WAIT.
    const fromPort = (port: number) =>
      sh('nat-client', `for i in 1 2 3 4; do socat -u TCP4:${VIP}:${REUSE_PORT},sourceport=${port},reuseaddr - || echo FAILED; done`).trim().split('\n');
    expect(sh('nat-director', 'sysctl -n net.ipv4.vs.conn_reuse_mode').trim()).toBe('1');
    const rescheduled = fromPort(40100);
    expect([...rescheduled].sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
    sh('nat-director', 'sysctl -qw net.ipv4.vs.conn_reuse_mode=0');
    try {
      const kept = fromPort(40101);
      expect(kept[0]).toMatch(/^web[12]$/);
      expect(kept).toEqual(Array(4).fill(kept[0]));
    } finally {
      sh('nat-director', 'sysctl -qw net.ipv4.vs.conn_reuse_mode=1');
    }
  });

  it('destroy returns every host to its state before the deploy', () => {
    stopListeners();
    firewall(false);
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
