/**
 * A director's IPVS tunables on the lab's real kernel: a DR cluster on the
 * dr hosts whose director sets the connection table size, the timeouts and
 * sloppy_tcp. The kernel shows each value and applies the timeouts to live
 * connections; destroy puts every value back and unloads the modules the
 * deploy loaded, so the hosts equal their snapshots (modules included).
 */
import { labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'tunables';
const HOSTS = ['dr-director', 'dr-web1', 'dr-web2'];
/** Outside what the other suites use on 192.168.115.0/24. */
const VIP = '192.168.115.160';

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2221),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
  tunables: { connTableBits: 10, tcpTimeout: 600, tcpFinTimeout: 7, udpTimeout: 45, sloppyTcp: true },
});
const service = director.addService('http', { vip: ${JSON.stringify(VIP)}, scheduler: 'rr' });
for (const n of [1, 2]) {
  service.addRealServer(new DrRealServer(stack, 'web' + n, {
    connection: at(2221 + n),
    dataInterface: { name: 'ens33', address: '192.168.115.11' + (1 + n) + '/24' },
    webServer: { kind: 'httpd' },
  }));
}
`;

/** The director's IPVS connection entries for the VIP: client address, state and seconds left. */
function connections(): { source: string; state: string; expires: number }[] {
  return sh('dr-director', 'ipvsadm -Lnc')
    .split('\n')
    .filter((l) => l.includes(`${VIP}:80`))
    .map((l) => {
      const [, expire, state, source] = l.trim().split(/\s+/);
      const [m, s] = expire.split(':').map(Number);
      return { source, state, expires: m * 60 + s };
    });
}

describe('IPVS tunables on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // The table size is a module parameter: it shows only when this deploy loads ip_vs.
    // Other suites load it before their snapshots and so leave it loaded; unload it here.
    sh('dr-director', "for m in $(lsmod | awk '$1 ~ /^ip_vs_/ { print $1 }'); do rmmod \"$m\"; done; if [ -d /sys/module/ip_vs ]; then rmmod ip_vs; fi");
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() => leaveHostsAsFound(before, () => live && project.destroy(STACK)));

  it('deploys; the kernel holds each value: table size, timeouts, sysctls', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    expect(sh('dr-director', 'ipvsadm -Ln | head -1')).toMatch(/\(size=1024\)/);
    expect(sh('dr-director', 'ipvsadm -L --timeout').trim()).toBe('Timeout (tcp tcpfin udp): 600 7 45');
    const vs = (k: string) => sh('dr-director', `sysctl -n net.ipv4.vs.${k}`).trim();
    expect(['sloppy_tcp', 'expire_nodest_conn', 'expire_quiescent_template'].map(vs)).toEqual(['1', '1', '1']);
    // 'auto' leaves a 6.1 kernel's own value.
    expect(vs('conn_reuse_mode')).toBe('1');
    expect(curlVip('dr-client', VIP, 2).sort()).toEqual(['web1 (192.168.115.112)', 'web2 (192.168.115.113)']);
  });

  it('a live connection gets the TCP timeout, and the FIN timeout once the client closes it', () => {
    const earlier = new Set(connections().map((c) => c.source));
    // An idle connection held open by the client for 8 s, then closed.
    sh('dr-client', `nohup bash -c 'exec 3<>/dev/tcp/${VIP}/80; sleep 8; exec 3>&-' >/dev/null 2>&1 &`);
    const ours = () => connections().find((c) => !earlier.has(c.source));
    let c = ours();
    for (let i = 0; i < 40 && !c; i++) {
      sh('dr-director', 'sleep 0.25');
      c = ours();
    }
    expect(c).toMatchObject({ state: 'ESTABLISHED' });
    expect(c!.expires).toBeGreaterThan(500);
    expect(c!.expires).toBeLessThanOrEqual(600);
    // After the close: FIN_WAIT, expiring within the 7 s FIN timeout (the kernel's would be 120 s).
    const source = c!.source;
    for (let i = 0; i < 60 && c?.state === 'ESTABLISHED'; i++) {
      sh('dr-director', 'sleep 0.5');
      c = connections().find((x) => x.source === source);
    }
    expect(c).toMatchObject({ state: 'FIN_WAIT' });
    expect(c!.expires).toBeLessThanOrEqual(7);
  });

  /**
   * A client holds a connection open, the director loses the connection's
   * real server from the table (as a health checker or an operator removes
   * it), then the client sends its request: how long until the client's read
   * ends, and its error.
   */
  const requestAfterRemoval = (wait: number) => {
    sh('dr-client', 'rm -f /tmp/nd.*');
    sh('dr-client', `nohup bash -c 'exec 3<>/dev/tcp/${VIP}/80 || exit 1; touch /tmp/nd.open; while [ ! -e /tmp/nd.go ]; do sleep 0.1; done; start=$(date +%s%N); printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3; timeout ${wait} cat <&3 > /dev/null 2> /tmp/nd.err; echo $(( ($(date +%s%N) - start) / 1000000 )) > /tmp/nd.ms' >/dev/null 2>&1 &`);
    sh('dr-client', 'for i in $(seq 100); do [ -e /tmp/nd.open ] && break; sleep 0.1; done');
    // The server the client's connection went to: the newest ESTABLISHED entry from the client.
    const entry = sh('dr-director', 'ipvsadm -Lnc').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[2] === 'ESTABLISHED' && f[4] === `${VIP}:80`);
    expect(entry).toBeDefined();
    const server = entry![5];
    sh('dr-director', `ipvsadm -d -t ${VIP}:80 -r ${server}`);
    sh('dr-client', `touch /tmp/nd.go; for i in $(seq ${wait * 10 + 50}); do [ -s /tmp/nd.ms ] && break; sleep 0.1; done`);
    const ms = Number(sh('dr-client', 'cat /tmp/nd.ms').trim());
    const error = sh('dr-client', 'cat /tmp/nd.err; rm -f /tmp/nd.*').trim();
    sh('dr-director', `ipvsadm -a -t ${VIP}:80 -r ${server} -g -w 1`);
    return { ms, error };
  };

  it('expire_nodest_conn (on by default): a connection to a server taken out of the table ends at once in a reset; off, it hangs', () => {
    // The director expires the entry and drops the segment; the client's retransmission reaches the
    // other server (sloppy_tcp lets a mid-stream segment be scheduled), which has no such connection and resets it.
    const on = requestAfterRemoval(15);
    expect(on.error).toMatch(/reset by peer/);
    expect(on.ms).toBeLessThan(10_000);
    sh('dr-director', 'sysctl -q -w net.ipv4.vs.expire_nodest_conn=0');
    try {
      // Off: the director drops every segment of the connection silently, until the client gives up.
      const off = requestAfterRemoval(6);
      expect(off.error).toBe('');
      expect(off.ms).toBeGreaterThanOrEqual(6_000);
    } finally {
      sh('dr-director', 'sysctl -q -w net.ipv4.vs.expire_nodest_conn=1');
    }
  });

  it('destroy puts every value back and unloads ip_vs: the hosts equal their snapshots', () => {
    project.destroy(STACK);
    live = false;
    expect(sh('dr-director', 'lsmod').split('\n').map((l) => l.split(/\s+/)[0])).not.toContain('ip_vs');
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
