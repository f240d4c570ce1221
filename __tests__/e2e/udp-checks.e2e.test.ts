/**
 * UDP health checks on the lab's real kernel: two TUN UDP services of
 * tun-web1 and tun-web2 that keepalived checks with a datagram (UDP_CHECK),
 * one taking silence as up (only an ICMP error is down), one requiring an
 * answer. The servers answer with their name from socat listeners this suite
 * starts: on the VIP for the client (replies leave from the VIP, as TUN
 * needs) and on each server's own address for keepalived's check.
 *
 * @lab tun
 */
import { labAppProject, leaveHostsAsFound, requireLab, secondsUntil, sh, snapshot, udpAnswers } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'udp-checks';
const WEBS = ['tun-web1', 'tun-web2'];
const HOSTS = ['tun-director', ...WEBS];
/** Outside what the other suites use on 192.168.100.0/24. */
const VIP = '192.168.100.161';
const RIPS = ['192.168.100.1', '192.168.100.2'];
/** Silence counts as up on this port; the other requires an answer. */
const SILENCE_UP = 5353;
const ANSWER_REQUIRED = 5354;
/** What a noisy CI machine may add to the check's own bound (about 4 s) before a server leaves the table. */
const EXIT_LIMIT_S = 30;

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2231),
  interfaces: [{ name: 'eth0', address: '192.168.100.100/24' }],
});
const timing = { intervalSeconds: 1, timeoutSeconds: 1, retries: 1, retryDelaySeconds: 1 };
const services = [
  director.addService('dns', { vip: ${JSON.stringify(VIP)}, port: ${SILENCE_UP}, protocol: 'udp', scheduler: 'rr', healthCheck: { type: 'udp', ...timing } }),
  director.addService('answering', {
    vip: ${JSON.stringify(VIP)}, port: ${ANSWER_REQUIRED}, protocol: 'udp', scheduler: 'rr',
    healthCheck: { type: 'udp', payload: '6c76732d63646b7466', requireReply: true, ...timing },
  }),
];
for (const n of [1, 2]) {
  const web = new TunRealServer(stack, 'web' + n, {
    connection: at(2231 + n),
    dataInterface: { name: 'eth0', address: '192.168.100.' + n + '/24' },
    webServer: { kind: 'nginx' },
  });
  for (const s of services) s.addRealServer(web);
}
`;

/** Whether the server at `rip` is in the kernel's entries of the UDP service on `port`. */
const inTable = (rip: string, port: number) => sh('tun-director', `ipvsadm -Ln -u ${VIP}:${port}`).includes(`-> ${rip}:${port} `);
/** Answers to one datagram per source port to the VIP, in order. */
const ask = (port: number, sourcePorts: number[]) => udpAnswers('tun-client', VIP, port, sourcePorts);

/** On web `i`, on `port`: answering listeners on the VIP and on its own address, or on its own address one that never answers. */
const listen = (i: number, port: number, how: 'answer' | 'silent') => {
  const name = `web${i + 1}`;
  const lines =
    how === 'answer'
      ? [`nohup socat UDP4-RECVFROM:${port},bind=${VIP},fork SYSTEM:'echo ${name}' >/dev/null 2>&1 &`, `nohup socat UDP4-RECVFROM:${port},bind=${RIPS[i]},fork SYSTEM:'echo ${name}' >/dev/null 2>&1 &`]
      : [`nohup socat -u UDP4-RECV:${port},bind=${RIPS[i]} OPEN:/dev/null >/dev/null 2>&1 &`];
  const expected = how === 'answer' ? 2 : 1;
  sh(WEBS[i], [...lines, `for i in $(seq 50); do [ "$(ss -lnuH | grep -c ':${port} ')" = ${expected} ] && break; sleep 0.1; done`].join('\n'));
};
const stopListening = (i: number, port: number) => sh(WEBS[i], `pkill -f '^socat .*UDP4-RECV[A-Z]*:${port},' || true`);

describe('UDP health checks (keepalived UDP_CHECK) on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // What this suite's `ss` loads is not the deploy's: loaded before the snapshots.
    for (const h of HOSTS) sh(h, 'modprobe -a udp_diag inet_diag');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      WEBS.forEach((h) => sh(h, "pkill -f '^socat .*UDP4-RECV' || true"));
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys; servers answering on both ports are in both services, and the client gets both', () => {
    live = true;
    project.deploy(STACK);
    // Bound to the VIP, which the deploy put on tunl0: keepalived's first checks may find no listener yet.
    WEBS.forEach((_, i) => [SILENCE_UP, ANSWER_REQUIRED].forEach((port) => listen(i, port, 'answer')));
    for (const port of [SILENCE_UP, ANSWER_REQUIRED]) {
      for (const rip of RIPS) secondsUntil(`${rip}:${port} in the table`, () => inTable(rip, port), EXIT_LIMIT_S);
      expect(ask(port, [42001, 42002, 42003, 42004]).sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
    }
  });

  it('a server whose listener stopped (port unreachable) leaves the service; the client gets the other; it returns when the listener is back', () => {
    stopListening(0, SILENCE_UP);
    secondsUntil(`${RIPS[0]}:${SILENCE_UP} out of the table`, () => !inTable(RIPS[0], SILENCE_UP), EXIT_LIMIT_S);
    expect(ask(SILENCE_UP, [42011, 42012, 42013])).toEqual(['web2', 'web2', 'web2']);
    listen(0, SILENCE_UP, 'answer');
    secondsUntil(`${RIPS[0]}:${SILENCE_UP} back in the table`, () => inTable(RIPS[0], SILENCE_UP), EXIT_LIMIT_S);
    expect(ask(SILENCE_UP, [42021, 42022, 42023, 42024]).sort()).toEqual(['web1', 'web1', 'web2', 'web2']);
  });

  it('a server that takes datagrams without answering stays in the service that counts silence as up and leaves the one that requires an answer', () => {
    for (const port of [SILENCE_UP, ANSWER_REQUIRED]) {
      stopListening(0, port);
      listen(0, port, 'silent');
    }
    secondsUntil(`${RIPS[0]}:${ANSWER_REQUIRED} out of the table`, () => !inTable(RIPS[0], ANSWER_REQUIRED), EXIT_LIMIT_S);
    // Several of the silence service's check intervals later, web1 is still in it.
    sh('tun-director', 'sleep 5');
    expect(inTable(RIPS[0], SILENCE_UP)).toBe(true);
    expect(inTable(RIPS[1], ANSWER_REQUIRED)).toBe(true);
    expect(ask(ANSWER_REQUIRED, [42031, 42032, 42033])).toEqual(['web2', 'web2', 'web2']);
  });

  it('destroy returns every host to its state before the deploy', () => {
    WEBS.forEach((h) => sh(h, "pkill -f '^socat .*UDP4-RECV' || true"));
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
