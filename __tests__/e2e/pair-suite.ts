/**
 * The director pair suite, run on one lab cluster by director-pair (DR),
 * nat-director-pair (NAT) and tun-director-pair (TUN): two directors on one LAN, VRRP by keepalived
 * over the lab's bridge, a health-checked service, the load loop and slow
 * downloads from the client: a real server's web server stopped and its
 * data link cut, the active director's data link cut, its return, a power cut of the other, a configuration its host refuses, and
 * destroy back to the snapshot.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { topologyOf } from '../../lib/topology';
import { LoadLoop, LoadResult, PairLab, SlowDownloads, lab, labAppProject, leaveHostsAsFound, pairApp, requireLab, secondsUntil, sh, snapshot, sortedLines, underLoad, vipHolders } from '../../lab/client';

const SIZE = 2_000_000;

/**
 * `join`: the first director is deployed on its own, and the second joins it under load.
 * `preemptDelay`: the first director, back as backup, takes the VIPs back after a preempt delay.
 */
export function pairSuite(p: PairLab, options: { readonly join?: boolean; readonly preemptDelay?: boolean } = {}): void {
  const STACK = 'pair-stack';
  const VIP = p.vip;
  const DIRECTORS = p.directors.map((d) => d.host);
  const WEBS = p.webs.map((w) => w.host);
  const HOSTS = [...DIRECTORS, ...WEBS];
  const docroot = '/var/www/html';

  describe(`a ${p.forwarding.toUpperCase()} director pair (keepalived VRRP, connection sync, health checks) on the lab, under load`, () => {
    const project = labAppProject(STACK, pairApp(p));
    // DR: an IPv6 VIP beside the IPv4 one, which VRRP moves with it; each has its load loop and downloads.
    const VIPS = [VIP, ...(p.ipv6 ? [p.ipv6.vip] : [])];
    const loads = VIPS.map((v) => new LoadLoop(p.client, v));
    const [load] = loads;
    const report: string[] = [];
    const serverReport: string[] = [];
    const before: Record<string, string> = {};
    let deployed = false;

    const holders = (vip = VIP) => vipHolders(DIRECTORS, p.dev, vip);
    const rules = (h: string) => sortedLines(sh(h, 'ipvsadm -Sn'));
    /** The declared table, as the last synth's topology records it (the same on both directors); read each time, so a failed test does not leave the next ones comparing with nothing. */
    const declared = () => sortedLines(topologyOf(JSON.parse(readFileSync(join(project.dir, 'cdktf.out/stacks', STACK, 'cdk.tf.json'), 'utf8')), STACK)!.directors[0].rules.join('\n'));
    // NAT: the real servers' floating gateway is on the inside interface of the director that holds the VIP.
    const gatewayHolders = () => (p.gateway ? vipHolders(DIRECTORS, p.directors[0].inside!.dev, p.gateway.split('/')[0], p.gateway.split('/')[1]) : holders());
    /** Which director holds every VIP of the pair: `on` (alone), if any. */
    const allOn = () => {
      const [first, ...rest] = [...VIPS.map((v) => holders(v)), gatewayHolders()].map((h) => h.join());
      return rest.every((h) => h === first) ? first : undefined;
    };
    const active = () => {
      secondsUntil('the VIPs (and a NAT gateway) on exactly one director, the same', () => holders().length === 1 && allOn() === holders().join(), 30);
      const [on] = holders();
      return { on, other: DIRECTORS.find((h) => h !== on)! };
    };
    /** Connections through `vip` that the backup's kernel holds, synchronised from the active director. */
    const synced = (backup: string, vip: string) => Number(sh(backup, `ipvsadm -Lnc | grep ' ESTABLISHED ' | grep -cF ' ${vip.includes(':') ? `[${vip}]` : vip}:80 ' || true`).trim());
    const row = (name: string, takeover: string, l: LoadResult, vip: string, downloads: string) =>
      report.push(`| ${name}${VIPS.length > 1 ? ` (${vip})` : ''} | ${takeover} | ${l.longestGap.toFixed(2)} | ${l.failed.length} of ${l.sent} | ${downloads} |`);
    /** The director's interface on the real servers' LAN (NAT: the inside one). */
    const webLink = (h: string) => p.directors.find((d) => d.host === h)!.inside?.dev ?? p.dev;
    const keepalived = () => DIRECTORS.map((h) => sh(h, 'systemctl is-active keepalived || true').trim());

    /**
     * Two slow downloads through each VIP and their load loops through the
     * active director, then `fault` on it: the seconds until the other holds
     * the VIPs, each VIP's load, and how its downloads ended.
     */
    const failover = (name: string, fault: (on: string) => void) => {
      const { on, other } = active();
      const slow = VIPS.map((v) => new SlowDownloads(p.client, v, '/big.bin'));
      for (const d of slow) {
        d.startOne();
        d.startOne();
      }
      secondsUntil('both downloads of each VIP synchronised to the backup', () => VIPS.every((v) => synced(other, v) >= 2), 20);
      const { value: takeover, loads: l } = underLoad(loads, () => {
        sh(p.client, 'sleep 2');
        fault(on);
        const seconds = secondsUntil(`${other} holds the VIPs`, () => allOn() === other, 60);
        sh(p.client, 'sleep 5');
        return seconds;
      });
      const downloads = slow.map((d) => d.results());
      VIPS.forEach((v, i) => row(name, takeover.toFixed(1), l[i], v, downloads[i].join(', ')));
      return { on, other, loads: l, downloads };
    };

    /** Cuts the data link of `on`, the active director, runs `during` once `other` holds the VIPs, and restores the link: `on` is then backup with the declared table. */
    const linkCut = <T>(on: string, other: string, during: () => T): T => {
      lab('link', on, p.dev, 'down');
      let value: T;
      try {
        secondsUntil(`${other} holds the VIPs`, () => allOn() === other, 60);
        value = during();
      } finally {
        lab('link', on, p.dev, 'up');
      }
      secondsUntil(`${on} backup with the declared table`, () => allOn() === other && rules(on).join() === declared().join(), 60);
      return value;
    };

    beforeAll(() => {
      requireLab();
      for (const h of HOSTS) sh(h, 'modprobe -a ip_vs ipip');
      for (const h of HOSTS) before[h] = snapshot(h);
    });

    afterAll(() => {
      console.log(['director faults under load:', '| fault | s until the other holds the VIP | longest gap without an answer, s | failed | downloads in flight |', '|---|---|---|---|---|', ...report].join('\n'));
      console.log(['web1 faults under load:', '| fault | s until out of both tables | failed | s from fault to last failed request | s until back in both | failed on return |', '|---|---|---|---|---|---|', ...serverReport].join('\n'));
      leaveHostsAsFound(before, () => {
        for (const h of DIRECTORS) {
          lab('link', h, p.dev, 'up');
          sh(h, `ip neigh del ${p.webs[0].address.split('/')[0]} dev ${webLink(h)} 2>/dev/null || true`);
        }
        lab('link', WEBS[0], p.webDev, 'up');
        if (deployed) {
          project.env = {};
          project.destroy(STACK);
        }
      });
    });

    /** The pair as deployed: the VIPs on exactly one director, the declared table and keepalived on both, both servers answering through each VIP. */
    const expectServing = () => {
      expect(declared()).toHaveLength(3 * VIPS.length);
      active();
      for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: declared() });
      expect(keepalived()).toEqual(['active', 'active']);
      const { loads: l } = underLoad(loads, () => sh(p.client, 'sleep 3'));
      VIPS.forEach((vip, i) => expect({ vip, failed: l[i].failed, servers: Object.keys(l[i].servers).sort() }).toEqual({ vip, failed: [], servers: ['web1', 'web2'] }));
    };

    if (options.join) {
      it('a running director joins a pair under load: no request lost, a download in flight completes, the VIP stays on it', () => {
        deployed = true;
        project.env = { LVS_SINGLE: '1' };
        project.deploy(STACK);
        // On its own it holds the VIPs where a single director does (a TUN one on tunl0).
        const own = sh(DIRECTORS[0], 'ip -o addr show');
        for (const v of VIPS) expect(own).toContain(` ${v}/${v.includes(':') ? 128 : 32} `);
        for (const h of WEBS) sh(h, `head -c ${SIZE} /dev/zero > ${docroot}/big.bin`);
        project.env = {};
        const slow = VIPS.map((v) => new SlowDownloads(p.client, v, '/big.bin'));
        for (const d of slow) d.startOne();
        const { loads: l } = underLoad(loads, () => project.deploy(STACK));
        const downloads = slow.map((d) => d.results());
        VIPS.forEach((v, i) => row(`${DIRECTORS[0]} joins a pair (deploy)`, '-', l[i], v, downloads[i].join(', ')));
        VIPS.forEach((vip, i) => expect({ vip, failed: l[i].failed, downloads: downloads[i] }).toEqual({ vip, failed: [], downloads: [`200 ${SIZE}`] }));
        expect(allOn()).toBe(DIRECTORS[0]);
        // The copies on lo that kept the VIPs (NAT: and the gateway) local while keepalived started are gone.
        const lo = sh(DIRECTORS[0], 'ip -o addr show dev lo');
        for (const a of [...VIPS, ...(p.gateway ? [p.gateway.split('/')[0]] : [])]) expect(lo).not.toContain(` ${a}/${a.includes(':') ? 128 : 32} `);
        // NAT: the real servers moved their default route to the floating gateway.
        if (p.gateway) for (const h of WEBS) expect(sh(h, 'ip -4 route show default')).toContain(`via ${p.gateway.split('/')[0]} `);
        expectServing();
      });
    } else {
      it('deploys the pair: the VIP on exactly one director, the declared table on both, keepalived on both', () => {
        deployed = true;
        project.deploy(STACK);
        for (const h of WEBS) sh(h, `head -c ${SIZE} /dev/zero > ${docroot}/big.bin`);
        expectServing();
      });
    }

    it('a real server with its web server stopped, and separately with its data link cut: both directors take it out within the check bound; its return loses no request', () => {
      const rip = `${p.webs[0].address.split('/')[0]}:80`;
      const inTable = (h: string) => rules(h).some((l) => l.includes(` -r ${rip} `));
      const unit = p.webServer === 'httpd' ? 'apache2' : 'nginx';
      const faults: [string, () => void, () => void][] = [
        [`${unit} stopped`, () => sh(WEBS[0], `systemctl stop ${unit}`), () => sh(WEBS[0], `systemctl start ${unit}`)],
        ['data link cut', () => lab('link', WEBS[0], p.webDev, 'down'), () => lab('link', WEBS[0], p.webDev, 'up')],
      ];
      for (const [name, fault, repair] of faults) {
        load.start();
        const started = Date.now();
        sh(p.client, 'sleep 2');
        const faultAt = (Date.now() - started) / 1000;
        fault();
        // Each director checks on its own: the backup's table follows too, ready for a failover.
        const exit = secondsUntil(`${rip} out of both tables (${name})`, () => DIRECTORS.every((h) => !inTable(h)), 30);
        sh(p.client, 'sleep 3');
        const down = load.stop();
        load.start();
        repair();
        const back = secondsUntil(`${rip} back in both tables`, () => DIRECTORS.every(inTable), 30);
        sh(p.client, 'sleep 3');
        const up = load.stop();
        const failedAt = down.failed.map((f) => Number(f.split(' ')[0]));
        serverReport.push(`| web1 ${name} | ${exit.toFixed(1)} | ${down.failed.length} of ${down.sent} | ${(Math.max(faultAt, ...failedAt) - faultAt).toFixed(1)} | ${back.toFixed(1)} | ${up.failed.length} of ${up.sent} |`);
        // Every failed request was sent between the fault and web1's exit (1 s for the clocks' offset).
        expect({ name, late: failedAt.filter((t) => t < faultAt - 1 || t > faultAt + exit + 1) }).toEqual({ name, late: [] });
        expect(down.servers.web2).toBeGreaterThan(0);
        expect({ name, failedOnReturn: up.failed }).toEqual({ name, failedOnReturn: [] });
        expect(up.servers.web1).toBeGreaterThan(0);
      }
      for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: declared() });
    });

    it('connections synchronised while a check on the backup had their real server out: after a failover, new connections on the same client ports are answered', () => {
      const { on, other } = active();
      const rip = p.webs[0].address.split('/')[0];
      const inTable = (h: string) => rules(h).some((l) => l.includes(` -r ${rip}:80 `));
      // A fixed client port per request: `port first-word-of-the-page`, or `port failed REASON`.
      // A port the client closed first is in its TIME_WAIT for 60 s: it is reused as a busy client reuses it (SO_REUSEADDR and tcp_tw_reuse), which curl cannot do.
      const ports = Array.from({ length: 10 }, (_, i) => 20000 + i);
      const firstWord = `awk 'NR == 1 && $2 != 200 { exit } body { w = $1; exit } /^\\r?$/ { body = 1 } END { print (w == "" ? "failed no-page" : w) }'`;
      const fromEachPort = () =>
        sortedLines(
          sh(
            p.client,
            `for port in ${ports.join(' ')}; do if page=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat -T 6 - TCP:${VIP}:80,sourceport=$port,reuseaddr,connect-timeout=4); then echo "$port $(printf '%s\\n' "$page" | ${firstWord})"; else echo "$port failed $?"; fi; done`,
          ),
        );
      const twReuse = sh(p.client, 'sysctl -n net.ipv4.tcp_tw_reuse').trim();
      sh(p.client, 'sysctl -qw net.ipv4.tcp_tw_reuse=1');
      try {
        // Only the backup loses web1 (its frames go to a MAC nobody has): its check times out and takes web1 out while the active director keeps sending to it.
        // (A blackhole route would not do: keepalived 2.2.7 takes a refused connect() for "socket bind failed" and checks again, keeping the server.)
        sh(other, `ip neigh replace ${rip} lladdr 02:00:00:00:00:01 dev ${webLink(other)} nud permanent`);
        secondsUntil(`${rip} out of ${other}'s table`, () => !inTable(other), 30);
        const first = fromEachPort();
        expect(first.filter((l) => !/ web[12]$/.test(l))).toEqual([]);
        const toWeb1 = first.filter((l) => l.endsWith(' web1')).map((l) => l.split(' ')[0]);
        expect(toWeb1.length).toBeGreaterThan(0);
        // The backup holds those connections with no real server bound to them; web1 returns to its table, which does not bind them.
        secondsUntil(`the connections to web1 synchronised to ${other}`, () => toWeb1.every((port) => sh(other, 'ipvsadm -Lnc').includes(`:${port} ${VIP}:80 ${rip}:80`)), 10);
        sh(other, `ip neigh del ${rip} dev ${webLink(other)}`);
        secondsUntil(`${rip} back in ${other}'s table`, () => inTable(other), 30);
        // The link cut leaves `on` backup with its whole table again before the next failover needs it.
        const second = linkCut(on, other, fromEachPort);
        // TUN: with conn_reuse_mode 1 the new master drops every SYN of the ports that went to web1 (an entry without a destination cannot be tunnelled).
        expect(second.filter((l) => !/ web[12]$/.test(l))).toEqual([]);
      } finally {
        sh(p.client, `sysctl -qw net.ipv4.tcp_tw_reuse=${twReuse}`);
      }
    });

    it('the data link of the active director cut: the other takes the VIP, downloads in flight complete on it (connection sync)', () => {
      const r = failover('data link of the active director cut', (on) => lab('link', on, p.dev, 'down'));
      expect(allOn()).toBe(r.other);
      VIPS.forEach((vip, i) => {
        expect({ vip, downloads: r.downloads[i] }).toEqual({ vip, downloads: [`200 ${SIZE}`, `200 ${SIZE}`] });
        // Requests sent in the gap are retried by TCP (SYN retransmits) and mostly answered late: a few may fail, not many.
        expect(r.loads[i].failed.length).toBeLessThan(10);
        expect(r.loads[i].servers.web1 + r.loads[i].servers.web2).toBeGreaterThan(0);
      });
    });

    it('the failed director returns with its link: it stays backup (no preemption), no second interruption', () => {
      const [on] = holders();
      const back = DIRECTORS.find((h) => h !== on)!;
      const { loads: l } = underLoad(loads, () => {
        lab('link', back, p.dev, 'up');
        sh(p.client, 'sleep 8');
      });
      VIPS.forEach((v, i) => row(`${back} returns (link up)`, '-', l[i], v, '-'));
      expect(l.flatMap((x) => x.failed)).toEqual([]);
      expect(allOn()).toBe(on);
    });

    it('a power cut of the active director: the other takes over; the rebooted one comes back as backup with no interruption', () => {
      const r = failover('power cut of the active director (lab reboot)', (on) => lab('reboot', on));
      expect(allOn()).toBe(r.other);
      VIPS.forEach((vip, i) => {
        expect({ vip, downloads: r.downloads[i] }).toEqual({ vip, downloads: [`200 ${SIZE}`, `200 ${SIZE}`] });
        expect(r.loads[i].failed.length).toBeLessThan(10);
      });
      // It boots into keepalived (enabled) and the table (its boot unit): back as backup, nothing interrupted.
      const { loads: l } = underLoad(loads, () => {
        secondsUntil(`keepalived running on ${r.on} again`, () => sh(r.on, 'systemctl is-active keepalived || true').trim() === 'active', 60);
        sh(p.client, 'sleep 6');
      });
      VIPS.forEach((v, i) => row(`${r.on} back after its power cut`, '-', l[i], v, '-'));
      expect(l.flatMap((x) => x.failed)).toEqual([]);
      expect(allOn()).toBe(r.other);
      expect(rules(r.on)).toEqual(declared());
    });

    it('a configuration the hosts refuse (an advertisement interface they do not have) fails the deploy naming keepalived; keepalived, the VIP and the tables stay', () => {
      const was = { holders: allOn(), conf: DIRECTORS.map((h) => sh(h, 'md5sum /etc/keepalived/keepalived.conf')) };
      project.env = { LVS_PAIR: JSON.stringify({ interface: 'ens99', unicast: false }) };
      expect(() => project.deploy(STACK)).toThrow(new RegExp(`keepalived on (${DIRECTORS.join('|')}) refuses the new configuration, so the running one stays: .*ens99`));
      expect(allOn()).toBe(was.holders);
      expect(DIRECTORS.map((h) => sh(h, 'md5sum /etc/keepalived/keepalived.conf'))).toEqual(was.conf);
      expect(keepalived()).toEqual(['active', 'active']);
      for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: declared() });
    });

    it('the configuration as it was deploys again after the failure, and nothing is interrupted', () => {
      project.env = {};
      const { loads: l } = underLoad(loads, () => project.deploy(STACK));
      expect(l.flatMap((x) => x.failed)).toEqual([]);
      expect(keepalived()).toEqual(['active', 'active']);
      active();
      for (const h of DIRECTORS) expect({ h, rules: rules(h) }).toEqual({ h, rules: declared() });
    });

    if (options.preemptDelay) {
      it('with a preempt delay the first director, back as backup, takes the VIPs after the delay: no request lost, downloads in flight complete', () => {
        const DELAY = 10;
        const [first, second] = DIRECTORS;
        // The second must be active, as after a failure of the first.
        if (allOn() === first) linkCut(first, second, () => undefined);
        // 120 s each, to be in flight through the deploy and the preemption on a busy machine (about 25 s on an idle one).
        const slow = VIPS.map((v) => new SlowDownloads(p.client, v, '/big.bin', SIZE / 120));
        for (const d of slow) d.startOne();
        secondsUntil(`the downloads synchronised to ${first}`, () => VIPS.every((v) => synced(first, v) >= 1), 20);
        // keepalived logs with microseconds: its reload, then the instance becoming master.
        const since = sh(first, 'date +%s').trim();
        project.env = { LVS_PAIR: JSON.stringify({ preempt: DELAY }) };
        const { value: inFlight, loads: l } = underLoad(loads, () => {
          project.deploy(STACK);
          secondsUntil(`${first} takes the VIPs back`, () => allOn() === first, 60);
          const established = VIPS.map((v) => synced(first, v));
          sh(p.client, 'sleep 3');
          return established;
        });
        // The downloads were still going when the VIPs moved, now through the first director.
        expect(inFlight.every((n) => n >= 1)).toBe(true);
        const log = sh(first, `journalctl -u keepalived -o short-unix --no-pager --since @${since}`);
        const at = (re: RegExp) => Number(log.split('\n').find((line) => re.test(line))?.split(' ')[0]);
        const waited = at(/\(VI_60\) Entering MASTER STATE/) - at(/Reloading/);
        const downloads = slow.map((d) => d.results());
        VIPS.forEach((v, i) => row(`${first} preempts ${DELAY} s after its reload (${waited.toFixed(1)} s)`, '-', l[i], v, downloads[i].join(', ')));
        // The delay comes on top of VRRP's master-down interval (three advertisements and a skew).
        expect(waited).toBeGreaterThanOrEqual(DELAY);
        VIPS.forEach((vip, i) => expect({ vip, failed: l[i].failed, downloads: downloads[i] }).toEqual({ vip, failed: [], downloads: [`200 ${SIZE}`] }));
        project.env = {};
        project.deploy(STACK);
        expect(allOn()).toBe(first);
      });
    }

    it('destroy stops keepalived on both and returns every host to its state before', () => {
      for (const h of WEBS) sh(h, `rm -f ${docroot}/big.bin`);
      project.destroy(STACK);
      deployed = false;
      for (const h of HOSTS) expect({ host: h, snapshot: snapshot(h) }).toEqual({ host: h, snapshot: before[h] });
    });
  });
}
