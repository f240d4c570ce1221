/**
 * A director's IPVS tunables on the lab's real kernel: a DR cluster on the
 * dr hosts whose director sets the connection table size, the timeouts and
 * sloppy_tcp. The kernel shows each value and applies the timeouts to live
 * connections; expire_nodest_conn and sloppy_tcp decide what a connection
 * to a deleted server gets. Destroy puts every value back and unloads the
 * modules the deploy loaded, so the hosts equal their snapshots (modules
 * included).
 *
 * @lab dr
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { LAB, labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

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

/** The director's IPVS connection entries for the VIP: client address, state, seconds left and real server. */
function connections(): { source: string; state: string; expires: number; destination: string }[] {
  return sh('dr-director', 'ipvsadm -Lnc')
    .split('\n')
    .filter((l) => l.includes(`${VIP}:80`))
    .map((l) => {
      const [, expire, state, source, , destination] = l.trim().split(/\s+/);
      const [m, s] = expire.split(':').map(Number);
      return { source, state, expires: m * 60 + s, destination };
    });
}

/**
 * A connection made before its real server is deleted by hand (after
 * `sysctls` on the director) and used after: what the client got within 5 s,
 * and whether the director itself sent a reset from the VIP.
 */
function requestAfterDelete(sysctls: string): { result: string; resetByDirector: boolean } {
  const f = '/tmp/lvs-late';
  sh('dr-client', `rm -f ${f}*; cat > ${f}.pl`, readFileSync(join(LAB, 'late-get.pl'), 'utf8'));
  sh('dr-client', `setsid perl ${f}.pl ${VIP} 80 ${f}.go 5 ${f}.out </dev/null >/dev/null 2>&1 &`);
  const port = sh('dr-client', `for i in $(seq 100); do [ -e ${f}.out.port ] && break; sleep 0.1; done; cat ${f}.out.port`).trim();
  const real = connections().find((c) => c.source === `192.168.115.200:${port}`)!.destination;
  try {
    sh('dr-director', [
      `${sysctls}; ipvsadm -d -t ${VIP}:80 -r ${real}`,
      // -p: the director's own packets only, not what it sees of others on the LAN.
      `timeout 20 tcpdump -p -l -n -i ens33 -c 1 'src host ${VIP} and tcp[tcpflags] & tcp-rst != 0' > /tmp/lvs-rst.txt 2> /tmp/lvs-rst.err &`,
      // Until it captures (it says so on stderr), however slow the host.
      'for i in $(seq 200); do grep -q "listening on" /tmp/lvs-rst.err && break; sleep 0.1; done',
    ].join('\n'));
    const result = sh('dr-client', `touch ${f}.go; for i in $(seq 100); do [ -e ${f}.out ] && break; sleep 0.1; done; cat ${f}.out`).trim();
    const resets = sh('dr-director', 'sleep 0.5; pkill -x tcpdump || true; cat /tmp/lvs-rst.txt; rm -f /tmp/lvs-rst.txt /tmp/lvs-rst.err');
    return { result, resetByDirector: /Flags \[R/.test(resets) };
  } finally {
    sh('dr-director', `ipvsadm -a -t ${VIP}:80 -r ${real} -g -w 1; sysctl -qw net.ipv4.vs.sloppy_tcp=1 net.ipv4.vs.expire_nodest_conn=1`);
  }
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

  it('expire_nodest_conn: a connection whose server is deleted is reset at its next packet (by the other server under sloppy_tcp, else by the director); with 0 its packets are dropped', () => {
    // sloppy_tcp schedules the mid-connection packet to the other server, which has no such connection.
    expect(requestAfterDelete('true')).toEqual({ result: 'reset', resetByDirector: false });
    // Without it, the packet is not scheduled: the director's own stack holds the VIP and refuses it.
    expect(requestAfterDelete('sysctl -qw net.ipv4.vs.sloppy_tcp=0')).toEqual({ result: 'reset', resetByDirector: true });
    // The entry stays on the deleted server and its packets are dropped: the client hears nothing.
    expect(requestAfterDelete('sysctl -qw net.ipv4.vs.expire_nodest_conn=0')).toEqual({ result: 'timeout', resetByDirector: false });
  });

  it('verify checks the timeouts: a hand-set FIN timeout is named, and passes once put back', async () => {
    const verify = () => project.verifyFailures(STACK);
    expect(await verify()).toEqual([]);
    sh('dr-director', 'ipvsadm --set 0 30 0');
    try {
      expect(await verify()).toEqual([`${STACK}/lb: timeout ipvsadm timeout tcpfin`]);
    } finally {
      sh('dr-director', 'ipvsadm --set 0 7 0');
    }
    expect(await verify()).toEqual([]);
  });

  it('destroy puts every value back and unloads ip_vs: the hosts equal their snapshots', () => {
    project.destroy(STACK);
    live = false;
    expect(sh('dr-director', 'lsmod').split('\n').map((l) => l.split(/\s+/)[0])).not.toContain('ip_vs');
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
