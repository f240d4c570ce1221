/**
 * UDP, SCTP and firewall-mark services on the lab's real kernel: a DR
 * cluster on the dr hosts with a UDP service, a UDP service with one-packet
 * scheduling, an SCTP service, and a persistent firewall-mark service whose
 * marking rules the director owns (ports 80 and 8080 under one mark). The
 * real servers answer with their name from httpd and from listeners this
 * suite starts (socat bound to each VIP, so replies leave from the VIP as DR
 * needs); the client's requests go through each VIP.
 *
 * @lab dr
 */
import { join } from 'path';
import { readStack } from '../../synth/read';
import { labAppProject, curlVip, lab, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines, udpAnswers, waitFor } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'protocols';
const WEBS = ['dr-web1', 'dr-web2'];
const HOSTS = ['dr-director', ...WEBS];
/** Outside what the other suites use on 192.168.115.0/24. */
const UDP = '192.168.115.161';
const UDP_OPS = '192.168.115.162';
const SCTP = '192.168.115.163';
const MARKED = '192.168.115.164';

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2221),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
  // A UDP flow ends 5 s after its last datagram, and a drain waits up to 90 s for it.
  drainSeconds: 90,
  tunables: { udpTimeout: 5 },
});
const services = [
  director.addService('udp', { vip: ${JSON.stringify(UDP)}, port: 5353, protocol: 'udp', scheduler: 'rr' }),
  // Keeps the UDP VIP on both servers: taking one out of 'udp' then changes the table only (README, Known limits).
  director.addService('udp-keep', { vip: ${JSON.stringify(UDP)}, port: 5354, protocol: 'udp', scheduler: 'rr' }),
  director.addService('udp-ops', { vip: ${JSON.stringify(UDP_OPS)}, port: 5353, protocol: 'udp', scheduler: 'rr', onePacket: true }),
  director.addService('sctp', { vip: ${JSON.stringify(SCTP)}, port: 9999, protocol: 'sctp', scheduler: 'rr' }),
  director.addService('marked', {
    fwmark: 1, vip: ${JSON.stringify(MARKED)}, scheduler: 'rr', persistence: { timeout: 60 }, markRules: [{ ports: [80, 8080] }],
  }),
];
for (const n of [1, 2]) {
  const web = new DrRealServer(stack, 'web' + n, {
    connection: at(2221 + n),
    dataInterface: { name: 'ens33', address: '192.168.115.11' + (1 + n) + '/24' },
    webServer: { kind: 'httpd' },
  });
  // DRAIN names the server a later deploy takes out of the UDP service.
  for (const s of services) if (!(s === services[0] && process.env.DRAIN === 'web' + n)) s.addRealServer(web);
}
`;

/** Answers to one UDP datagram per source port, in order. */
const udp = (vip: string, ports: number[]) => udpAnswers('dr-client', vip, 5353, ports);

describe('UDP and SCTP services on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // What this suite's listeners load (sctp and the hmac its cookies use) and what
    // its `ss` loads (the diag modules) is not the deploy's: loaded before the snapshots.
    for (const h of HOSTS) sh(h, 'modprobe -a sctp hmac sctp_diag udp_diag');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  const stopListeners = () => WEBS.forEach((h) => sh(h, "pkill -f '^socat .*192\\.168\\.115\\.16[1-4]' || true"));

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      stopListeners();
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys; the kernel holds the declared table, one-packet flag included', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    const declared = readStack(join(project.dir, 'cdktf.out'), STACK).topology!.directors[0].rules;
    expect(declared).toContain(`-A -u ${UDP_OPS}:5353 -s rr -o`);
    expect(declared).toContain(`-A --sctp-service ${SCTP}:9999 -s rr`);
    expect(sortedLines(sh('dr-director', 'ipvsadm -Sn'))).toEqual(sortedLines(declared.join('\n')));
    WEBS.forEach((h, i) => {
      const name = `web${i + 1}`;
      sh(h, [
        `nohup socat UDP4-RECVFROM:5353,bind=${UDP},fork SYSTEM:'echo ${name}' >/dev/null 2>&1 &`,
        `nohup socat UDP4-RECVFROM:5353,bind=${UDP_OPS},fork SYSTEM:'echo ${name}' >/dev/null 2>&1 &`,
        `nohup socat SCTP4-LISTEN:9999,bind=${SCTP},fork,reuseaddr SYSTEM:'echo ${name}' >/dev/null 2>&1 &`,
        `nohup socat TCP4-LISTEN:8080,bind=${MARKED},fork,reuseaddr SYSTEM:'echo ${name}' >/dev/null 2>&1 &`,
        // Until all four listen.
        'for i in $(seq 50); do [ "$(ss -lnuH | grep -c :5353) $(ss -lnH -A sctp 2>/dev/null | grep -c :9999) $(ss -lntH | grep -c :8080)" = "2 1 1" ] && break; sleep 0.1; done',
      ].join('\n'));
    });
  });

  it('UDP: each new flow is scheduled (round robin over both servers); one flow stays on one server', () => {
    expect(udp(UDP, [41001, 41002, 41003, 41004]).sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
    const oneFlow = udp(UDP, [41010, 41010, 41010, 41010]);
    expect(new Set(oneFlow).size).toBe(1);
    expect(oneFlow[0]).toMatch(/^web[12]$/);
  });

  it('UDP with one-packet scheduling: datagrams of one flow alternate between the servers', () => {
    const answers = udp(UDP_OPS, [41020, 41020, 41020, 41020]);
    expect(answers.sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
    // No flow is kept for a one-packet service.
    expect(sh('dr-director', `ipvsadm -Lnc | grep -c '${UDP_OPS}:5353' || true`).trim()).toBe('0');
  });

  it('SCTP: associations through the VIP are answered by both servers', () => {
    // SCTP has no half-close: the client keeps its side open until the answer is in.
    const answers = sh('dr-client', `for i in 1 2 3 4; do sleep 1 | socat -t 1 - SCTP4:${SCTP}:9999 || echo FAILED; done`).trim().split('\n');
    expect(answers.sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
  });

  /** Which server answers on each port of the marked VIP: 3 requests to port 80, then 3 to 8080. */
  const marked = () => [
    ...curlVip('dr-client', MARKED, 3).map((a) => a.split(' ')[0]),
    ...sh('dr-client', `for i in 1 2 3; do socat -t 2 - TCP4:${MARKED}:8080 </dev/null || echo FAILED; done`).trim().split('\n'),
  ];

  it('firewall marks: the director marks ports 80 and 8080 of the VIP; one persistent client stays on one server across both', () => {
    const chain = sh('dr-director', 'iptables -w -t mangle -S');
    expect(chain).toMatch(new RegExp(`-A PREROUTING -j (LVS-CDKTF-[0-9a-f]{8}-[ab])\n`));
    for (const port of [80, 8080]) expect(chain).toContain(`-d ${MARKED}/32 -p tcp -m tcp --dport ${port} -j MARK --set-xmark 0x1/0xffffffff`);
    const answers = marked();
    expect(answers[0]).toMatch(/^web[12]$/);
    expect(answers).toEqual(Array(6).fill(answers[0]));
  });

  it('verify checks the marking rules: one removed by hand is named, and passes once put back', async () => {
    const verify = () => project.verifyFailures(STACK);
    expect(await verify()).toEqual([]);
    const chain = /-A PREROUTING -j (LVS-CDKTF-[0-9a-f]{8}-[ab])\n/.exec(sh('dr-director', 'iptables -w -t mangle -S PREROUTING'))![1];
    const rule = `-d ${MARKED}/32 -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x1/0xffffffff`;
    sh('dr-director', `iptables -w -t mangle -D ${chain} ${rule}`);
    try {
      expect(await verify()).toEqual([`${STACK}/lb: chain marking iptables PREROUTING ${rule}`]);
    } finally {
      sh('dr-director', `iptables -w -t mangle -C ${chain} ${rule} 2>/dev/null || iptables -w -t mangle -A ${chain} ${rule}`);
    }
    expect(await verify()).toEqual([]);
  });

  it('firewall marks: after the director restarts, its marking rules are back and the marked VIP answers', () => {
    lab('reboot', 'dr-director');
    sh('dr-director', 'systemctl is-system-running --wait >/dev/null || true');
    expect(sh('dr-director', 'iptables -w -t mangle -S PREROUTING')).toMatch(/-A PREROUTING -j LVS-CDKTF-[0-9a-f]{8}-[ab]\n/);
    const answers = marked();
    expect(answers[0]).toMatch(/^web[12]$/);
    expect(answers).toEqual(Array(6).fill(answers[0]));
  });

  it('UDP drain: a server taken out of the UDP service keeps its live flow, gets no new one, and goes once the flow has ended', async () => {
    // One flow (one source port), a datagram every 0.5 s, until the test stops it.
    sh('dr-client', [
      'rm -f /tmp/udpflow.*',
      `setsid sh -c 'while [ ! -e /tmp/udpflow.stop ]; do echo q | socat -t 1 - UDP4:${UDP}:5353,sourceport=41100,reuseaddr || echo FAILED; sleep 0.5; done >> /tmp/udpflow.out; touch /tmp/udpflow.done' </dev/null >/dev/null 2>&1 &`,
    ].join('\n'));
    const flow = () => sh('dr-client', 'cat /tmp/udpflow.out 2>/dev/null || true').trim().split('\n').filter(Boolean);
    await waitFor('the flow', () => flow().length >= 2, 120_000);
    const server = flow()[0];
    const other = server === 'web1' ? 'web2' : 'web1';
    const rip = `192.168.115.11${server === 'web1' ? 2 : 3}:5353`;
    project.env = { DRAIN: server };
    let finished = false;
    const deploy = project.start('deploy', STACK, '--auto-approve').finally(() => (finished = true));
    try {
      // The table step quiesces the server (weight 0) and waits for its flow.
      await waitFor('the drain', () => new RegExp(`-> ${rip.replace(/\./g, '\\.')}\\s+Route\\s+0\\s`).test(sh('dr-director', `ipvsadm -Ln -u ${UDP}:5353`)), 120_000);
      const seen = flow().length;
      await waitFor('the flow to go on', () => flow().length >= seen + 6, 120_000);
      expect(finished).toBe(false);
      expect(udp(UDP, [41101, 41102, 41103])).toEqual([other, other, other]);
    } finally {
      sh('dr-client', 'touch /tmp/udpflow.stop; for i in $(seq 100); do [ -e /tmp/udpflow.done ] && break; sleep 0.1; done');
      // Awaited even when a step above failed, so no deploy runs on into the next test's destroy.
      await deploy.catch(() => undefined);
    }
    // The flow's entry expires 5 s after its last datagram; then the server goes.
    const out = await deploy;
    expect(out).toContain(`lvs-cdktf: draining ${rip} from -u ${UDP}:5353`);
    expect(out).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
    expect(new Set(flow())).toEqual(new Set([server]));
    expect(sh('dr-director', 'ipvsadm -Sn')).not.toContain(`-a -u ${UDP}:5353 -r ${rip}`);
  });

  it('destroy returns every host to its state before the deploy', () => {
    stopListeners();
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
