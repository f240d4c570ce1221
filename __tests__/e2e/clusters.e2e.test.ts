/**
 * End to end, for each of nat-stack, dr-stack and tun-stack: the real cdktf
 * CLI and Terraform configure lab hosts (real IPVS kernels) over real SSH;
 * traffic goes through the VIP from the lab's client host.
 *
 * @lab nat dr tun
 */
import { CdktfProject, curlVip, lab, labHosts, labStack, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines } from '../../lab/client';
import { expectRoundRobin, resourcesByHost } from './helpers';

interface Case {
  stack: string;
  prefix: string;
  vip: string;
}

const CASES: Case[] = [
  { stack: 'nat-stack', prefix: 'nat', vip: '192.168.115.111' },
  { stack: 'dr-stack', prefix: 'dr', vip: '192.168.115.110' },
  { stack: 'tun-stack', prefix: 'tun', vip: '192.168.100.101' },
];

jest.setTimeout(900_000);

describe.each(CASES)('$stack on the lab', ({ stack, prefix, vip }) => {
  const director = `${prefix}-director`;
  const client = `${prefix}-client`;
  const hosts = [director, `${prefix}-web1`, `${prefix}-web2`];
  const project = new CdktfProject();
  const before: Record<string, string> = {};
  let deployed: Record<string, string> = {};
  /** The stack may have resources on the hosts (set before the deploy, cleared by a destroy that passed). */
  let live = false;
  const desired = () => sortedLines(labStack(stack).director.desiredRules.join('\n'));

  beforeAll(() => {
    requireLab();
    // The snapshots include the kernel's modules: destroy unloads what the deploy loaded.
    for (const h of hosts) before[h] = snapshot(h);
  });

  /** The client's LAN interface and the MAC its neighbour table holds for the VIP. */
  const lan = prefix === 'tun' ? 'eth0' : 'ens33';
  const macOf = (host: string) => labHosts().find((h) => h.name === host)!.interfaces.find((i) => i.name === lan)!.mac.toLowerCase();
  const clientEntry = () => /lladdr (\S+)/.exec(sh(client, `ip neigh show ${vip} dev ${lan}`))?.[1];

  afterAll(() => {
    // The stale entry the deploy test plants must not outlive a failure, for the next suite's first request.
    sh(client, `ip neigh del ${vip} dev ${lan} 2>/dev/null || true`);
    return leaveHostsAsFound(before, () => live && project.destroy(stack));
  });

  it('deploys; the VIP answers from both web nodes in round-robin order; ipvsadm -Sn is the desired table', () => {
    // A client that last reached the VIP at another host (as after a director is replaced): the
    // director's gratuitous ARP must move it at once, not when the entry expires. A NAT VIP here is
    // the director's own address, which never moves.
    const announced = prefix !== 'nat';
    if (announced) sh(client, `ip neigh replace ${vip} dev ${lan} lladdr ${macOf(`${prefix}-web1`)} nud stale`);
    live = true;
    const out = project.deploy(stack);
    expect(out).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    deployed = Object.fromEntries(hosts.map((h) => [h, snapshot(h)]));
    if (announced) expect(clientEntry()).toBe(macOf(director));
    expectRoundRobin(curlVip(client, vip, 6), ['web1', 'web2']);
    expect(sortedLines(sh(director, 'ipvsadm -Sn'))).toEqual(desired());
  });

  if (prefix === 'dr') {
    it('only the director answers ARP for the VIP', () => {
      const mac = labHosts()
        .find((h) => h.name === director)!
        .interfaces.find((i) => i.name === 'ens33')!.mac.toUpperCase();
      const out = sh(client, `arping -c 4 -w 8 -I ens33 ${vip} || true`);
      const macs = new Set([...out.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[1].toUpperCase()));
      expect([...macs]).toEqual([mac]);
      for (const h of hosts.slice(1)) {
        expect(sh(h, 'sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.lo.arp_ignore net.ipv4.conf.ens33.arp_announce')).toBe('1\n1\n2\n');
        expect(sh(h, 'ip -o addr show dev lo')).toContain(`inet ${vip}/32`);
      }
    });
  }

  if (prefix === 'tun') {
    it('real servers hold the VIP on tunl0 with rp_filter off and the ARP settings on', () => {
      for (const h of hosts.slice(1)) {
        expect(sh(h, 'ip -o addr show dev tunl0')).toContain(`inet ${vip}/32`);
        const keys = ['all', 'default', 'tunl0', 'eth0'].map((d) => `net.ipv4.conf.${d}.rp_filter`).join(' ');
        expect(sh(h, `sysctl -n ${keys}`)).toBe('0\n0\n0\n0\n');
        expect(sh(h, 'sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce')).toBe('1\n2\n');
      }
    });
  }

  if (prefix === 'nat') {
    it('web nodes route through the director and the director forwards', () => {
      for (const h of hosts.slice(1)) expect(sh(h, 'ip route show default')).toContain('default via 192.168.116.111 dev ens33');
      expect(sh(director, 'sysctl -n net.ipv4.ip_forward')).toBe('1\n');
    });
  }

  it('a second deploy changes nothing and runs nothing on the hosts', () => {
    const out = project.deploy(stack);
    expect(out).toMatch(/No changes/);
    expect(out).not.toMatch(/remote-exec|Provisioning/);
  });

  it('running every create script again leaves every host as it was', () => {
    for (const [host, r] of resourcesByHost(labStack(stack))) sh(host, 'sh -s', r.create);
    for (const h of hosts) expect(snapshot(h)).toEqual(deployed[h]);
    expectRoundRobin(curlVip(client, vip, 4), ['web1', 'web2']);
  });

  it('after the director and a web node restart, the VIP answers again without a redeploy', () => {
    for (const h of [director, `${prefix}-web1`]) {
      lab('reboot', h);
      sh(h, 'systemctl is-system-running --wait >/dev/null || true');
    }
    expect(sortedLines(sh(director, 'ipvsadm -Sn'))).toEqual(desired());
    expectRoundRobin(curlVip(client, vip, 6), ['web1', 'web2']);
  });

  it('destroy returns every host to its state before the deploy', () => {
    project.destroy(stack);
    live = false;
    for (const h of hosts) expect(snapshot(h)).toEqual(before[h]);
  });
});
