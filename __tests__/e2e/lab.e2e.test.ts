/**
 * The lab's own promises that the other suites build on: after `lab.sh
 * reboot` returns, a session to the host opens at once, even when the last
 * boot's network namespace outlives its processes (as the kernel's deferred
 * cleanup of a busy director's namespace does); and each cluster's two
 * directors can be a VRRP pair: Debian's keepalived on both, multicast
 * adverts over the lab's bridges, each address on one director, and on the
 * other once the first stops. The keepalived configurations here are
 * throw-away test fixtures, not the project's.
 *
 * @lab nat dr tun
 */
import { lab, labHosts, leaveHostsAsFound, requireLab, sh, snapshot, waitFor } from '../../lab/client';

jest.setTimeout(300_000);

describe('the lab', () => {
  beforeAll(() => requireLab());

  it("a reboot while the last boot's network namespace is still alive brings the host back reachable over SSH", () => {
    const host = labHosts().find((h) => h.name === 'nat-director')!;
    const mgmt = host.interfaces.find((i) => i.name === 'mgmt0')!;
    // A process outside the host's cgroup keeps the old namespace, and with it its veths, alive past the reboot.
    const holder = 'sleep 86.5';
    lab('guest', String(host.guest), `setsid ip netns exec ${host.name} ${holder} </dev/null >/dev/null 2>&1 &`);
    try {
      lab('reboot', host.name);
      expect(sh(host.name, 'hostname').trim()).toBe(host.name);
      expect(sh(host.name, 'ip -o addr show dev mgmt0')).toContain(`inet ${mgmt.address} `);
    } finally {
      lab('guest', String(host.guest), `pkill -f '^${holder}$' || true`);
    }
  });

  describe.each([
    { cluster: 'dr', lans: [{ dev: 'ens33', address: '192.168.115.109/24' }] },
    { cluster: 'nat', lans: [{ dev: 'ens33', address: '192.168.115.109/24' }, { dev: 'ens34', address: '192.168.116.109/24' }] },
    { cluster: 'tun', lans: [{ dev: 'eth0', address: '192.168.100.98/24' }] },
  ])('$cluster: its two directors as a VRRP pair', ({ cluster, lans }) => {
    const pair = [`${cluster}-director`, `${cluster}-director2`];
    const before: Record<string, string> = {};
    /** One VRRP instance per LAN; both start as BACKUP and the higher priority wins. */
    const conf = (priority: number) =>
      lans
        .map((l, i) =>
          [
            `vrrp_instance LAB_${i} {`,
            `  state BACKUP`,
            `  interface ${l.dev}`,
            `  virtual_router_id ${51 + i}`,
            `  priority ${priority}`,
            `  advert_int 1`,
            `  virtual_ipaddress {`,
            `    ${l.address} dev ${l.dev}`,
            `  }`,
            `}`,
          ].join('\n'),
        )
        .join('\n');
    /** Which of the pair hold each address, one entry per LAN. */
    const holders = () => lans.map((l) => pair.filter((h) => sh(h, `ip -o addr show dev ${l.dev}`).includes(` inet ${l.address} `)).join(' '));

    beforeAll(() => pair.forEach((h) => (before[h] = snapshot(h))));
    afterAll(() => leaveHostsAsFound(before, () => pair.forEach((h) => sh(h, 'systemctl stop keepalived; rm -f /etc/keepalived/keepalived.conf'))));

    it('holds each address on exactly one director, and on the other once keepalived stops there', async () => {
      pair.forEach((h, i) => sh(h, 'cat > /etc/keepalived/keepalived.conf && systemctl start keepalived', conf(150 - 50 * i) + '\n'));
      // The election ends once each side has heard the other's adverts (about 3 s after the start).
      await waitFor('the first director to hold every address', () => holders().every((x) => x === pair[0]), 30_000);
      const stop = Date.now();
      sh(pair[0], 'systemctl stop keepalived');
      await waitFor('the second director to take every address', () => holders().every((x) => x === pair[1]), 30_000);
      console.log(`${cluster}: the second director held every address ${((Date.now() - stop) / 1000).toFixed(1)} s after keepalived stopped on the first`);
    });
  });
});

