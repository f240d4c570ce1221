/**
 * A DR director pair on the lab (dr-director and dr-director2 on one LAN,
 * VRRP by keepalived over the lab's bridge), with a health-checked service,
 * while the load loop and slow downloads run from the client: the active
 * director's data link cut, its return, a power cut of the other, a
 * configuration its host refuses, and destroy back to the snapshot.
 *
 * @lab dr
 */
import { LoadLoop, SlowDownloads, lab, labAppProject, leaveHostsAsFound, requireLab, secondsUntil, sh, snapshot, sortedLines } from '../../lab/client';

jest.setTimeout(900_000);

const STACK = 'pair-stack';
const VIP = '192.168.115.110';
const DIRECTORS = ['dr-director', 'dr-director2'];
const HOSTS = [...DIRECTORS, 'dr-web1', 'dr-web2'];
const SIZE = 2_000_000;
// The app reads the pair's options from LVS_PAIR, so a test can change them.
const APP = String.raw`
const pairOptions = JSON.parse(process.env.LVS_PAIR ?? '{}');
const d1 = new LvsDirector(stack, 'director', { connection: at(2221), interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }], drainSeconds: 60 });
const d2 = new LvsDirector(stack, 'director2', { connection: at(2225), interfaces: [{ name: 'ens33', address: '192.168.115.108/24' }], drainSeconds: 60 });
const web = d1.addService('web', { vip: '${VIP}', scheduler: 'rr', healthCheck: { type: 'http', intervalSeconds: 1, timeoutSeconds: 1, retries: 1, retryDelaySeconds: 1 } });
new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 60, ...pairOptions });
for (const [n, port, address] of [[1, 2222, '192.168.115.112/24'], [2, 2223, '192.168.115.113/24']] as const) {
  web.addRealServer(new DrRealServer(stack, 'web' + n, { connection: at(port), dataInterface: { name: 'ens33', address }, webServer: { kind: 'httpd' } }));
}
`;
const RULES = sortedLines(`-A -t ${VIP}:80 -s rr\n-a -t ${VIP}:80 -r 192.168.115.112:80 -g -w 1\n-a -t ${VIP}:80 -r 192.168.115.113:80 -g -w 1`);

describe('a DR director pair (keepalived VRRP, connection sync, health checks) on the lab, under load', () => {
  const project = labAppProject(STACK, APP);
  const load = new LoadLoop('dr-client', VIP);
  const report: string[] = [];
  const before: Record<string, string> = {};
  let deployed = false;

  /** The directors holding the VIP; one that cannot be reached (rebooting) holds nothing. */
  const holders = () =>
    DIRECTORS.filter((h) => {
      try {
        return sh(h, 'ip -o -4 addr show dev ens33').includes(` ${VIP}/32 `);
      } catch {
        return false;
      }
    });
  const rules = (h: string) => sortedLines(sh(h, 'ipvsadm -Sn'));
  const active = () => {
    secondsUntil('the VIP on exactly one director', () => holders().length === 1, 30);
    const [on] = holders();
    return { on, other: DIRECTORS.find((h) => h !== on)! };
  };
  /** Connections through the VIP that the backup's kernel holds, synchronised from the active director. */
  const synced = (backup: string) => Number(sh(backup, `ipvsadm -Lnc | grep -c ' ESTABLISHED .*${VIP.replace(/\./g, '\\.')}:80 ' || true`).trim());
  const keepalived = () => DIRECTORS.map((h) => sh(h, 'systemctl is-active keepalived || true').trim());

  /**
   * Two slow downloads and the load loop through the active director, then
   * `fault` on it: the seconds until the other holds the VIP, the load, and
   * how each download ended.
   */
  const failover = (name: string, fault: (on: string) => void) => {
    const { on, other } = active();
    const slow = new SlowDownloads('dr-client', VIP, '/big.bin');
    slow.startOne();
    slow.startOne();
    secondsUntil('both downloads synchronised to the backup', () => synced(other) >= 2, 20);
    load.start();
    sh('dr-client', 'sleep 2');
    fault(on);
    const takeover = secondsUntil(`${other} holds the VIP`, () => holders().includes(other), 60);
    sh('dr-client', 'sleep 5');
    const l = load.stop();
    const downloads = slow.results();
    report.push(`| ${name} | ${takeover.toFixed(1)} | ${l.longestGap.toFixed(2)} | ${l.failed.length} of ${l.sent} | ${downloads.join(', ')} |`);
    return { on, other, load: l, downloads };
  };

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) sh(h, 'modprobe -a ip_vs ipip');
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() => {
    console.log(['director faults under load:', '| fault | s until the other holds the VIP | longest gap without an answer, s | failed | downloads in flight |', '|---|---|---|---|---|', ...report].join('\n'));
    leaveHostsAsFound(before, () => {
      for (const h of DIRECTORS) lab('link', h, 'ens33', 'up');
      if (deployed) {
        project.env = {};
        project.destroy(STACK);
      }
    });
  });

  it('deploys the pair: the VIP on exactly one director, the declared table on both, keepalived on both', () => {
    deployed = true;
    project.deploy(STACK);
    active();
    for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: RULES });
    expect(keepalived()).toEqual(['active', 'active']);
    for (const h of ['dr-web1', 'dr-web2']) sh(h, `head -c ${SIZE} /dev/zero > /var/www/html/big.bin`);
    const { load: l } = load.during(() => sh('dr-client', 'sleep 3'));
    expect(l.failed).toEqual([]);
    expect(Object.keys(l.servers).sort()).toEqual(['web1', 'web2']);
  });

  it("the active director's data link cut: the other takes the VIP, downloads in flight complete on it (connection sync)", () => {
    const r = failover('data link of the active director cut', (on) => lab('link', on, 'ens33', 'down'));
    expect(holders()).toEqual([r.other]);
    expect(r.downloads).toEqual([`200 ${SIZE}`, `200 ${SIZE}`]);
    // Requests sent in the gap are retried by TCP (SYN retransmits) and mostly answered late: a few may fail, not many.
    expect(r.load.failed.length).toBeLessThan(10);
    expect(r.load.servers.web1 + r.load.servers.web2).toBeGreaterThan(0);
  });

  it('the failed director returns with its link: it stays backup (no preemption), no second interruption', () => {
    const [on] = holders();
    const back = DIRECTORS.find((h) => h !== on)!;
    const { load: l } = load.during(() => {
      lab('link', back, 'ens33', 'up');
      sh('dr-client', 'sleep 8');
    });
    report.push(`| ${back} returns (link up) | - | ${l.longestGap.toFixed(2)} | ${l.failed.length} of ${l.sent} | - |`);
    expect(l.failed).toEqual([]);
    expect(holders()).toEqual([on]);
  });

  it('a power cut of the active director: the other takes over; the rebooted one comes back as backup with no interruption', () => {
    const r = failover('power cut of the active director (lab reboot)', (on) => lab('reboot', on));
    expect(holders()).toEqual([r.other]);
    expect(r.downloads).toEqual([`200 ${SIZE}`, `200 ${SIZE}`]);
    expect(r.load.failed.length).toBeLessThan(10);
    // It boots into keepalived (enabled) and the table (its boot unit): back as backup, nothing interrupted.
    const { load: l } = load.during(() => {
      secondsUntil(`keepalived running on ${r.on} again`, () => sh(r.on, 'systemctl is-active keepalived || true').trim() === 'active', 60);
      sh('dr-client', 'sleep 6');
    });
    report.push(`| ${r.on} back after its power cut | - | ${l.longestGap.toFixed(2)} | ${l.failed.length} of ${l.sent} | - |`);
    expect(l.failed).toEqual([]);
    expect(holders()).toEqual([r.other]);
    expect(rules(r.on)).toEqual(RULES);
  });

  it('a configuration the hosts refuse (an advertisement interface they do not have) fails the deploy naming keepalived; keepalived, the VIP and the tables stay', () => {
    const was = { holders: holders(), conf: DIRECTORS.map((h) => sh(h, 'md5sum /etc/keepalived/keepalived.conf')) };
    project.env = { LVS_PAIR: JSON.stringify({ interface: 'ens99', unicast: false }) };
    expect(() => project.deploy(STACK)).toThrow(/keepalived on dr-director2? refuses the new configuration, so the running one stays: .*ens99/);
    expect(holders()).toEqual(was.holders);
    expect(DIRECTORS.map((h) => sh(h, 'md5sum /etc/keepalived/keepalived.conf'))).toEqual(was.conf);
    expect(keepalived()).toEqual(['active', 'active']);
    for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: RULES });
  });

  it('the configuration as it was deploys again after the failure, and nothing is interrupted', () => {
    project.env = {};
    const { load: l } = load.during(() => project.deploy(STACK));
    expect(l.failed).toEqual([]);
    expect(keepalived()).toEqual(['active', 'active']);
    active();
    for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: RULES });
  });

  it('destroy stops keepalived on both and returns every host to its state before', () => {
    for (const h of ['dr-web1', 'dr-web2']) sh(h, 'rm -f /var/www/html/big.bin');
    project.destroy(STACK);
    deployed = false;
    for (const h of HOSTS) expect({ host: h, snapshot: snapshot(h) }).toEqual({ host: h, snapshot: before[h] });
  });
});
