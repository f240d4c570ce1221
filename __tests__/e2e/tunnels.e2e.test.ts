/**
 * TUN over each tunnel type on the lab's real kernel: one TUN service whose
 * three real servers take IPIP (tun-web1), GUE (tun-web2, fou on port 6080)
 * and GRE (tun-web3). Round robin sends one request to each; a download and
 * an upload each bigger than one MTU go through every tunnel type (the
 * director's encapsulation adds 20 to 32 bytes to each request packet), by
 * path MTU discovery, and with ICMP dropped by each server's MSS clamp.
 *
 * @lab tun
 */
import { join } from 'path';
import { readStack } from '../../synth/read';
import { LoadLoop, labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'tunnels';
const WEBS = ['tun-web1', 'tun-web2', 'tun-web3'];
const HOSTS = ['tun-director', ...WEBS];
/** Outside what the other suites use on 192.168.100.0/24. */
const VIP = '192.168.100.150';
const BIG = 2_000_000;
const UPLOAD = 300_000;
/** A network that drops ICMP "fragmentation needed" (path MTU discovery's messages) before the client. */
const NO_FRAG_NEEDED = '-p icmp --icmp-type fragmentation-needed -j DROP';
/** One upload to each server at once (round robin), each given `seconds`: what each server counted, or FAILED. */
const uploads = (seconds: number) =>
  sh('tun-client', [
    'ip route flush cache',
    `for i in 1 2 3; do (head -c ${UPLOAD} /dev/zero | timeout ${seconds} socat -t ${seconds} - TCP4:${VIP}:8081 > /tmp/up.$i || echo FAILED >> /tmp/up.$i) & done`,
    'wait',
    "for i in 1 2 3; do tr -d '\\n' < /tmp/up.$i; echo; done; rm -f /tmp/up.*",
  ].join('\n'))
    .trim()
    .split('\n')
    // A stalled upload got as far as the server's name.
    .map((u) => (u.includes('FAILED') ? 'FAILED' : u.trim()))
    .sort();

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2231),
  interfaces: [{ name: 'eth0', address: '192.168.100.100/24' }],
});
const web = director.addService('web', { vip: ${JSON.stringify(VIP)}, scheduler: 'rr' });
const upload = director.addService('upload', { vip: ${JSON.stringify(VIP)}, port: 8081, scheduler: 'rr' });
const servers = [
  { n: 1, address: '192.168.100.1/24', tunnel: { type: 'ipip' as const } },
  { n: 2, address: '192.168.100.2/24', tunnel: { type: 'gue' as const } },
  { n: 3, address: '192.168.100.4/24', tunnel: { type: 'gre' as const } },
];
for (const s of servers) {
  const server = new TunRealServer(stack, 'web' + s.n, {
    connection: at(2231 + s.n),
    dataInterface: { name: 'eth0', address: s.address },
    webServer: { kind: 'nginx' },
    // MSS set: a later deploy clamps each server's MSS to its tunnel.
    tunnel: { ...s.tunnel, mss: process.env.MSS ? ('auto' as const) : undefined },
  });
  web.addRealServer(server);
  upload.addRealServer(server);
}
`;

describe('TUN over IPIP, GUE and GRE on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // What this suite's `ss` and the client's firewall load is not the deploy's: loaded before the snapshots.
    for (const h of HOSTS) sh(h, 'modprobe -a tcp_diag inet_diag');
    sh('tun-client', 'iptables -w -n -L INPUT >/dev/null');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  const cleanUp = () => {
    sh('tun-client', `while iptables -w -D INPUT ${NO_FRAG_NEEDED} 2>/dev/null; do :; done`);
    WEBS.forEach((h) => sh(h, "pkill -f '^socat TCP4-LISTEN:8081' || true; rm -f /var/www/html/big.bin"));
  };

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      cleanUp();
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys; the kernel holds each entry with its tunnel type; each server decapsulates its own', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 5 added, 0 changed, 0 destroyed/);
    const declared = readStack(join(project.dir, 'cdktf.out'), STACK).topology!.directors[0].rules;
    expect(declared).toContain(`-a -t ${VIP}:80 -r 192.168.100.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum`);
    expect(sortedLines(sh('tun-director', 'ipvsadm -Sn'))).toEqual(sortedLines(declared.join('\n')));
    expect(sh('tun-web2', 'ip fou show')).toMatch(/^port 6080 gue/m);
    expect(sh('tun-web3', 'ip -o addr show dev gre0')).toContain(`inet ${VIP}/32`);
  });

  it('requests through the VIP are answered over each tunnel type', () => {
    expect(curlVip('tun-client', VIP, 3).map((a) => a.split(' ')[0]).sort()).toEqual(['web1', 'web2', 'web3']);
  });

  it('a download and an upload bigger than one MTU complete over each tunnel type', () => {
    WEBS.forEach((h, i) => {
      sh(h, [
        `{ echo web${i + 1}; head -c ${BIG} /dev/zero; } > /var/www/html/big.bin`,
        `nohup socat TCP4-LISTEN:8081,bind=${VIP},fork,reuseaddr SYSTEM:'printf web${i + 1}=; wc -c' >/dev/null 2>&1 &`,
        'for i in $(seq 50); do ss -lntH | grep -q :8081 && break; sleep 0.1; done',
      ].join('\n'));
    });
    const downloads = sh('tun-client', `for i in 1 2 3; do curl -s -m 60 http://${VIP}/big.bin | { read -r name; echo "$name $(wc -c)"; }; done`).trim().split('\n');
    expect(downloads.sort()).toEqual(['web1', 'web2', 'web3'].map((w) => `${w} ${BIG}`));
    expect(uploads(30)).toEqual(['web1', 'web2', 'web3'].map((w) => `${w}=${UPLOAD}`));
  });

  it('where ICMP fragmentation-needed is dropped, uploads stall; with mss auto each server announces what fits its tunnel and uploads complete', () => {
    sh('tun-client', `iptables -w -I INPUT ${NO_FRAG_NEEDED}`);
    // Each server announces 1460 (its MTU less 40): the director cannot encapsulate full-sized segments and its ICMP is lost.
    expect(uploads(8)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    project.env = { MSS: '1' };
    // Each server's Host step is replaced under load: its VIP, tunnel link, fou port and web server stay through the old one's teardown.
    const { value: out, load: l } = new LoadLoop('tun-client', VIP).during(() => project.deploy(STACK));
    console.log(`Host steps of the three TUN servers replaced under load: ${l.failed.length} of ${l.sent} failed, longest gap ${l.longestGap.toFixed(2)} s`);
    expect(out).toMatch(/Apply complete! Resources: 3 added, 0 changed, 3 destroyed/);
    expect(l.failed).toEqual([]);
    expect(Object.keys(l.servers).sort()).toEqual(['web1', 'web2', 'web3']);
    const synAcks = sh('tun-client', [
      `timeout 8 tcpdump -l -n -i eth0 -c 3 'src ${VIP} and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)' 2>/dev/null > /tmp/synack.txt &`,
      'sleep 1.5',
      `for i in 1 2 3; do curl -s -o /dev/null -m 5 http://${VIP}/; done`,
      'wait',
      "grep -o 'mss [0-9]*' /tmp/synack.txt | sort; rm -f /tmp/synack.txt",
    ].join('\n'));
    // 1500 less 40 for the IPv4 and TCP headers, less IPIP 20, GUE 32, GRE 24.
    expect(synAcks.trim().split('\n')).toEqual(['mss 1428', 'mss 1436', 'mss 1440']);
    expect(uploads(30)).toEqual(['web1', 'web2', 'web3'].map((w) => `${w}=${UPLOAD}`));
  });

  it('verify checks the clamps against each MTU and the fou port: a smaller MTU and a removed port are named', async () => {
    const verify = () => project.verifyFailures(STACK);
    expect(await verify()).toEqual([]);
    try {
      sh('tun-web1', 'ip link set dev eth0 mtu 1400');
      sh('tun-web2', 'ip fou del port 6080');
      // web1's clamp was set for 1500: at 1400 it should announce 1340 (less 40 and IPIP's 20).
      expect((await verify()).sort()).toEqual([
        `${STACK}/web1: chain MSS clamp iptables OUTPUT -s ${VIP}/32 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1340`,
        `${STACK}/web1: chain MSS clamp iptables OUTPUT -s ${VIP}/32 -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1440`,
        `${STACK}/web2: fou fou port 6080`,
      ]);
    } finally {
      sh('tun-web1', 'ip link set dev eth0 mtu 1500');
      sh('tun-web2', 'ip fou show | grep -q "^port 6080 gue" || ip fou add port 6080 gue');
    }
    expect(await verify()).toEqual([]);
  });

  it('destroy returns every host to its state before the deploy', () => {
    cleanUp();
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
