/**
 * The lab's own promises that the other suites build on: after `lab.sh
 * reboot` returns, a session to the host opens at once, even when the last
 * boot's network namespace outlives its processes (as the kernel's deferred
 * cleanup of a busy director's namespace does).
 *
 * @lab nat
 */
import { lab, labHosts, requireLab, sh } from '../../lab/client';

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
});
