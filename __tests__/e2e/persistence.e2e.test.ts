/**
 * Persistence and connection thresholds on the lab's real kernel: a DR
 * cluster on the dr hosts with a persistent service whose netmask groups
 * clients of one /24, one persistent per client address, and one where web1
 * takes at most one connection. The client host takes a second address for
 * the grouping; slow downloads hold connections open.
 *
 * @lab dr
 */
import { join } from 'path';
import { readStack } from '../../synth/read';
import { labAppProject, SlowDownloads, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'persistence';
const WEBS = ['dr-web1', 'dr-web2'];
const HOSTS = ['dr-director', ...WEBS];
/** Outside what the other suites use on 192.168.115.0/24. */
const GROUPED = '192.168.115.165';
const PER_CLIENT = '192.168.115.166';
const LIMITED = '192.168.115.167';
/** The client's second address, in the same /24 as its first (192.168.115.200). */
const SECOND_CLIENT = '192.168.115.201';

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2221),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
  // A closed connection counts against a threshold until its entry expires: make that quick.
  tunables: { tcpFinTimeout: 3 },
});
const grouped = director.addService('grouped', { vip: ${JSON.stringify(GROUPED)}, scheduler: 'rr', persistence: { timeout: 120, netmask: '255.255.255.0' } });
const perClient = director.addService('per-client', { vip: ${JSON.stringify(PER_CLIENT)}, scheduler: 'rr', persistence: { timeout: 120 } });
const limited = director.addService('limited', { vip: ${JSON.stringify(LIMITED)}, scheduler: 'rr' });
for (const n of [1, 2]) {
  const web = new DrRealServer(stack, 'web' + n, {
    connection: at(2221 + n),
    dataInterface: { name: 'ens33', address: '192.168.115.11' + (1 + n) + '/24' },
    webServer: { kind: 'httpd' },
  });
  // QUIESCED names the server set to weight 0 on a later deploy.
  grouped.addRealServer(web, { weight: process.env.QUIESCED === 'web' + n ? 0 : 1 });
  perClient.addRealServer(web);
  limited.addRealServer(web, n === 1 ? { upperThreshold: 1 } : {});
}
`;

/** The server that answered each of `count` requests to `vip` from the client address `from`. */
const answers = (vip: string, from: string, count: number) =>
  sh('dr-client', `for i in $(seq ${count}); do curl -s -m 5 --interface ${from} http://${vip}/ || echo FAILED; done`)
    .trim()
    .split('\n')
    .map((a) => a.split(' ')[0]);

describe('persistence and thresholds on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) before[h] = snapshot(h);
    sh('dr-client', `ip addr replace ${SECOND_CLIENT}/24 dev ens33`);
  });

  const cleanUp = () => {
    sh('dr-client', `ip addr del ${SECOND_CLIENT}/24 dev ens33 2>/dev/null || true`);
    for (const h of WEBS) sh(h, 'rm -f /var/www/html/big.bin');
  };

  afterAll(() =>
    leaveHostsAsFound(before, () => {
      cleanUp();
      if (live) project.destroy(STACK);
    }),
  );

  it('deploys; the kernel holds the declared table (netmask and threshold included)', () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    const declared = readStack(join(project.dir, 'cdktf.out'), STACK).topology!.directors[0].rules;
    expect(declared).toContain(`-A -t ${GROUPED}:80 -s rr -p 120 -M 255.255.255.0`);
    expect(sortedLines(sh('dr-director', 'ipvsadm -Sn'))).toEqual(sortedLines(declared.join('\n')));
    // ipvsadm -Sn does not print thresholds; the listing does.
    expect(sh('dr-director', `ipvsadm -Ln -t ${LIMITED}:80 --thresholds`)).toMatch(/192\.168\.115\.112:80\s+1\s+0\s/);
  });

  it('verify checks the thresholds: one changed by hand is named, and passes once put back', async () => {
    const verify = () => project.verifyFailures(STACK);
    expect(await verify()).toEqual([]);
    const edit = (upper: number) => sh('dr-director', `ipvsadm -e -t ${LIMITED}:80 -r 192.168.115.112:80 -g -w 1 -x ${upper} -y 0`);
    edit(4);
    try {
      expect(await verify()).toEqual([`${STACK}/lb: threshold -t ${LIMITED}:80 -r 192.168.115.112:80`]);
    } finally {
      edit(1);
    }
    expect(await verify()).toEqual([]);
  });

  it('a persistent client stays on one server; a netmask makes one client of a whole /24', () => {
    const first = answers(GROUPED, '192.168.115.200', 3);
    const second = answers(GROUPED, SECOND_CLIENT, 3);
    expect(first[0]).toMatch(/^web[12]$/);
    expect([...first, ...second]).toEqual(Array(6).fill(first[0]));
    // Per client address: two addresses are two clients, scheduled round robin onto both servers.
    const a = answers(PER_CLIENT, '192.168.115.200', 3);
    const b = answers(PER_CLIENT, SECOND_CLIENT, 3);
    expect(new Set(a).size).toBe(1);
    expect(new Set(b).size).toBe(1);
    expect([a[0], b[0]].sort()).toEqual(['web1', 'web2']);
  });

  it('a server at its upper threshold takes no new connection until its connections are gone', () => {
    for (const h of WEBS) sh(h, 'head -c 1500000 /dev/zero > /var/www/html/big.bin');
    // Round robin puts one download on each server: web1 is then at its threshold of 1.
    const slow = new SlowDownloads('dr-client', LIMITED, '/big.bin', 100_000, 120);
    slow.startOne();
    slow.startOne();
    let active = '';
    for (let i = 0; i < 40 && !/112:80\s+Route\s+1\s+1\s/.test(active); i++) {
      sh('dr-director', 'sleep 0.25');
      active = sh('dr-director', `ipvsadm -Ln -t ${LIMITED}:80`);
    }
    expect(active).toMatch(/192\.168\.115\.112:80\s+Route\s+1\s+1\s/);
    expect(answers(LIMITED, '192.168.115.200', 6)).toEqual(Array(6).fill('web2'));
    expect(slow.results()).toEqual(['200 1500000', '200 1500000']);
    // The kernel counts a connection against the threshold until its entry
    // expires (here 3 s after the close); then web1 takes connections again.
    let entries = '';
    for (let i = 0; i < 40 && !/112:80\s+Route\s+1\s+0\s+0\s/.test(entries); i++) {
      sh('dr-director', 'sleep 0.5');
      entries = sh('dr-director', `ipvsadm -Ln -t ${LIMITED}:80`);
    }
    expect(entries).toMatch(/192\.168\.115\.112:80\s+Route\s+1\s+0\s+0\s/);
    expect(answers(LIMITED, '192.168.115.200', 2)).toContain('web1');
  });

  it('a quiesced server (weight 0) loses its persistent clients (expire_quiescent_template)', () => {
    const sticky = answers(GROUPED, '192.168.115.200', 1)[0];
    const other = sticky === 'web1' ? 'web2' : 'web1';
    project.env = { QUIESCED: sticky };
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 1 added, 0 changed, 1 destroyed/);
    expect(sh('dr-director', 'sysctl -n net.ipv4.vs.expire_quiescent_template').trim()).toBe('1');
    expect([...answers(GROUPED, '192.168.115.200', 3), ...answers(GROUPED, SECOND_CLIENT, 3)]).toEqual(Array(6).fill(other));
  });

  it('destroy returns every host to its state before the deploy', () => {
    cleanUp();
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
