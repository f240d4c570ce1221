import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ResourceKind } from '../lib';
import { applyScript, renderBundle } from '../lib/scripts/bundle';
import { AddressSpec, addressFragment, addressHandover, composeFragments, defaultRouteHandover, linkUpFragment, linkUpHandover, sysctlFragment, sysctlHandover, sysctlKey } from '../lib/scripts/host';
import { IpvsRealServer, IpvsService, renderRules, serviceKey } from '../lib/ipvs';
import { ipvsTableFragment } from '../lib/scripts/table';
import { RealServerSpec, directorBase, drRealServerSettings, natRealServerSettings, realServerRole, tunRealServerSettings } from '../lib/scripts/roles';

const drRealServer = (spec: RealServerSpec) => realServerRole(spec, drRealServerSettings(spec));
const tunRealServer = (spec: RealServerSpec) => realServerRole(spec, tunRealServerSettings(spec));
const natRealServer = (spec: RealServerSpec & { gateway: string }) => realServerRole(spec, natRealServerSettings({ ...spec, gateways: [spec.gateway] }));
import { LIBRARY, sq } from '../lib/scripts/shell';
import { resourcesOf, stacks } from './helpers';
import type { LvsConfig } from '../stacks';

type LooseReal = Omit<IpvsRealServer, 'server' | 'upperThreshold' | 'lowerThreshold'> & Partial<IpvsRealServer>;
/** Services in the IPVS model from what a test cares about. */
function model(services: (Omit<IpvsService, 'path' | 'key' | 'realServers'> & { realServers: LooseReal[] })[]): IpvsService[] {
  return services.map((s) => ({
    ...s,
    path: 'test/service',
    key: serviceKey(s),
    realServers: s.realServers.map((r) => ({ server: 'test/web', upperThreshold: 0, lowerThreshold: 0, ...r })),
  }));
}

describe('renderRules', () => {
  it('prints rules the way ipvsadm -Sn does', () => {
    expect(
      renderRules(model([
        {
          protocol: 'tcp',
          vip: '192.168.115.111',
          port: 80,
          scheduler: 'rr',
          realServers: [
            { address: '192.168.116.112', port: 80, forwarding: 'nat', weight: 1 },
            { address: '192.168.116.113', port: 8080, forwarding: 'nat', weight: 3, upperThreshold: 100, lowerThreshold: 10 },
          ],
        },
        {
          protocol: 'udp',
          vip: '2001:db8::10',
          port: 53,
          scheduler: 'sh',
          persistence: { timeout: 600, netmask: '64' },
          realServers: [{ address: '2001:db8::1', port: 53, forwarding: 'dr', weight: 1 }],
        },
        { fwmark: 7, scheduler: 'wlc', persistence: { timeout: 300, netmask: '255.255.255.0' }, realServers: [{ address: '10.0.0.5', forwarding: 'tun', weight: 2 }] },
        { protocol: 'sctp', vip: '10.0.0.1', port: 9, scheduler: 'mh', realServers: [] },
      ])),
    ).toEqual([
      '-A -t 192.168.115.111:80 -s rr',
      '-a -t 192.168.115.111:80 -r 192.168.116.112:80 -m -w 1',
      '-a -t 192.168.115.111:80 -r 192.168.116.113:8080 -m -w 3',
      '-A -u [2001:db8::10]:53 -s sh -p 600 -M 64',
      '-a -u [2001:db8::10]:53 -r [2001:db8::1]:53 -g -w 1',
      '-A -f 7 -s wlc -p 300 -M 255.255.255.0',
      '-a -f 7 -r 10.0.0.5:0 -i -w 2 --tun-type ipip',
      '-A --sctp-service 10.0.0.1:9 -s mh',
    ]);
  });

  it('omits the default persistence granularity as ipvsadm does', () => {
    const rules = renderRules(model([{ protocol: 'tcp', vip: '10.0.0.1', port: 80, scheduler: 'rr', persistence: { timeout: 300, netmask: '255.255.255.255' }, realServers: [] }]));
    expect(rules).toEqual(['-A -t 10.0.0.1:80 -s rr -p 300']);
  });
});

describe('bundles', () => {
  const spec = { owner: 'o', description: 'd', prepare: 'true', up: 'true', down: 'true', onChange: 'teardown' as const };

  it('derive the generation from content', () => {
    expect(renderBundle(spec).generation).toBe(renderBundle({ ...spec }).generation);
    expect(renderBundle({ ...spec, up: 'echo x' }).generation).not.toBe(renderBundle(spec).generation);
  });

  it('start every script with set -eu', () => {
    const b = renderBundle(spec);
    for (const s of [applyScript(b), b.destroy, b.upScript, b.downScript]) expect(s.split('\n').slice(0, 2)).toEqual(['#!/bin/sh', 'set -eu']);
  });

  it('teardown bundles undo the previous generation first; reconcile bundles never do', () => {
    // lvs_begin on a state directory holding another generation whose down.sh leaves a mark.
    const begin = (onChange: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'lvs-begin-'));
      writeFileSync(join(dir, 'generation'), 'old\n');
      writeFileSync(join(dir, 'down.sh'), `touch ${sq(join(dir, 'undone'))}\n`);
      execFileSync('sh', ['-eu', '-c', `${LIBRARY}\nowner=o dir=${sq(dir)} gen=new\nlvs_begin ${onChange}`]);
      return existsSync(join(dir, 'undone'));
    };
    expect(renderBundle(spec).apply[2]).toContain('lvs_begin teardown');
    expect(renderBundle({ ...spec, onChange: 'reconcile' }).apply[2]).toContain('lvs_begin reconcile');
    expect(begin('teardown')).toBe(true);
    expect(begin('reconcile')).toBe(false);
  });

  it('carry the library once, and install it for up.sh and down.sh', () => {
    const b = renderBundle(spec);
    expect(b.apply[1]).toBe(LIBRARY);
    expect(b.apply[0]).not.toContain('lvs_os_family');
    expect(b.apply[2]).not.toContain('lvs_os_family()');
    expect(b.apply[2]).toContain(`lvs_write '/var/lib/lvs-cdktf/o/lib.sh' 0644 < "$lvs_lib"`);
    for (const s of [b.upScript, b.downScript]) expect(s).toContain('. "$dir/lib.sh"');
    expect(renderBundle(spec).generation).not.toBe(renderBundle({ ...spec, description: 'e' }).generation);
  });

  it('destroy steps act only on the generation they applied', () => {
    const { destroy, generation } = renderBundle(spec);
    expect(destroy).toContain(`gen='${generation}'`);
    expect(destroy).toMatch(/if \[ "\$cur" != "\$gen" \]; then[\s\S]*exit 0/);
  });
});

/**
 * A generation g1 already applied in `state`, whose down.sh (the library, then `down`, under `env`)
 * undoes it; returns how the next generation's bundle begins: g2's lvs_begin, which runs it.
 */
function oldGeneration(state: string, env: string, down: string): string {
  writeFileSync(join(state, 'generation'), 'g1\n');
  writeFileSync(join(state, 'down.sh'), `set -eu\n${env}\n${LIBRARY}\nowner=o dir=${sq(state)}\n${down}\n`);
  return 'gen=g2 lvs_begin teardown';
}

describe('host fragments', () => {
  it('write sysctls to a drop-in, never to /etc/sysctl.conf, and restore recorded values', () => {
    const f = sysctlFragment('o', [['net.ipv4.ip_forward', 1]]);
    expect(f.prepare).toContain("lvs_write '/etc/sysctl.d/90-lvs-cdktf-o.conf' 0644 <<'LVS_CDKTF_EOF'");
    expect(`${f.prepare}${f.up}${f.down}`).not.toContain('/etc/sysctl.conf');
    expect(f.prepare).toContain("lvs_sysctl_record 'net.ipv4.ip_forward'");
    expect(f.down).toBe("lvs_sysctl_restore '/etc/sysctl.d/90-lvs-cdktf-o.conf'");
  });

  it('use the slash form for VLAN interface sysctls', () => {
    expect(sysctlKey('net', 'ipv4', 'conf', 'eth0.100', 'rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    expect(sysctlKey('net', 'ipv4', 'conf', 'eth0', 'rp_filter')).toBe('net.ipv4.conf.eth0.rp_filter');
  });

  it('DR: ARP settings come before the VIP on lo, and teardown mirrors it', () => {
    const f = drRealServer({ owner: 'o', dataInterface: { dev: 'ens33', cidr: '192.168.115.112/24' }, vips: ['192.168.115.110'] });
    for (const dev of ['all', 'default', 'lo', 'ens33']) {
      expect(f.prepare).toContain(`net.ipv4.conf.${dev}.arp_ignore = 1`);
      expect(f.prepare).toContain(`net.ipv4.conf.${dev}.arp_announce = 2`);
    }
    expect(f.up.indexOf('sysctl -q -p')).toBeLessThan(f.up.indexOf("lvs_address_up 'lo' inet '192.168.115.110/32' 'lo:0'"));
    expect(f.up).toContain("ip route replace '192.168.115.110/32' dev 'lo'");
    expect(f.down.indexOf("lvs_address_restore 'lo' inet '192.168.115.110/32'")).toBeLessThan(f.down.indexOf('lvs_sysctl_restore'));
    expect(f.down).toContain("ip route del '192.168.115.110/32' dev 'lo'");
  });

  it('TUN: ipip, ARP and rp_filter=0 on all, default, tunl0 and the data interface, VIP on tunl0', () => {
    const f = tunRealServer({ owner: 'o', dataInterface: { dev: 'eth0', cidr: '192.168.100.1/24' }, vips: ['192.168.100.101'] });
    expect(f.prepare).toContain("modprobe -a 'ipip'");
    for (const dev of ['all', 'default', 'tunl0', 'eth0']) expect(f.prepare).toContain(`net.ipv4.conf.${dev}.rp_filter = 0`);
    expect(f.prepare).toContain('net.ipv4.conf.all.arp_ignore = 1');
    expect(f.up).toContain("lvs_address_up 'tunl0' inet '192.168.100.101/32'");
    expect(f.up.indexOf("ip link set dev 'tunl0' up")).toBeLessThan(f.up.indexOf("lvs_address_up 'tunl0'"));
  });

  it('NAT: records the old default route and puts it back', () => {
    const f = natRealServer({ owner: 'o', dataInterface: { dev: 'ens33', cidr: '192.168.116.112/24' }, vips: [], gateway: '192.168.116.111' });
    expect(f.prepare).toBe('lvs_default_route_record -4');
    expect(f.up).toContain("ip -4 route replace default via '192.168.116.111' dev 'ens33'");
    expect(f.down).toBe("lvs_default_route_restore -4 '192.168.116.111' 'ens33'");
  });

  it('a director announces its IPv4 VIPs by gratuitous ARP after bringing them up, one call per LAN; real servers announce none', () => {
    const d = directorBase({
      owner: 'o',
      forwarding: ['dr', 'tun'],
      interfaces: [{ dev: 'ens33', cidr: '192.168.115.111/24' }],
      vips: [
        { cidr: '192.168.115.110/32', dev: 'ens33', label: 'ens33:0', announceOn: 'ens33' },
        { cidr: '192.168.115.120/32', dev: 'tunl0', announceOn: 'ens33' },
        { cidr: '2001:db8::10/128', dev: 'ens33', announceOn: 'ens33' },
      ],
      handover: [],
      kernel: { sysctls: [] },
      markProtocols: [],
      ipv6: true,
    });
    expect(d.prepare).toContain('lvs_arping_install');
    expect(d.up.match(/lvs_announce .*/g)).toEqual(["lvs_announce 'ens33' '192.168.115.110' '192.168.115.120'"]);
    expect(d.up.indexOf('lvs_announce')).toBeGreaterThan(d.up.lastIndexOf('lvs_address_up'));
    const dr = drRealServer({ owner: 'o', dataInterface: { dev: 'ens33', cidr: '192.168.115.112/24' }, vips: ['192.168.115.110'] });
    expect(`${dr.prepare}${dr.up}`).not.toMatch(/lvs_announce|arping/);
  });

  it('lvs_announce sends one unsolicited ARP per address at once, and only with iputils arping', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-arp-'));
    mkdirSync(join(dir, 'bin'));
    const arping = (version: string) =>
      writeFileSync(join(dir, 'bin', 'arping'), `#!/bin/sh
[ "$1" = -V ] && { echo ${sq(version)}; exit 0; }
echo "$*" >> ${sq(join(dir, 'calls'))}
exit 1
`, { mode: 0o755 });
    const run = () => spawnSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin
${LIBRARY}
lvs_announce ens33 192.168.115.110 192.168.115.120`], { encoding: 'utf8' });
    arping('arping from iputils 20221126');
    // arping exits 1 when nothing answers, which an unsolicited ARP does not expect: no failure.
    expect(run()).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').sort()).toEqual(['-q -U -c 1 -I ens33 192.168.115.110', '-q -U -c 1 -I ens33 192.168.115.120']);
    arping('ARPing 2.21, by Thomas Habets');
    const other = run();
    expect(other.status).toBe(0);
    expect(other.stderr).toMatch(/no arping from iputils, so 192.168.115.110 192.168.115.120 not announced on ens33/);
  });

  it('a VIP handed to keepalived (and a NAT pair\'s gateway) stays on lo through the teardown and goes once keepalived holds it, or after the bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-handover-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const addrs = join(dir, 'addresses');
    // ip with the host's addresses in a file of "DEV FAMILY CIDR" lines.
    writeFileSync(
      join(dir, 'bin', 'ip'),
      `#!/bin/sh\nf=${sq(addrs)}\ncase "$1 $2" in\n"-o addr") awk -v d="$5" '$1 == d { print "1: " d "    " $2 " " $3 " scope global " d }' "$f" ;;\n"addr add") echo "$5 inet $3" >> "$f" ;;\n"addr del") grep -vxF "$5 inet $3" "$f" > "$f.new" || true; mv "$f.new" "$f" ;;\nesac\n`,
      { mode: 0o755 },
    );
    const run = (script: string) => spawnSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    const held = () => readFileSync(addrs, 'utf8').trim().split('\n').filter(Boolean).sort();
    const release = (seconds: number) => run(`lvs_handover_release ${sq(join(dir, 'state'))} ${seconds} 'inet 10.0.0.100/32 ens33\ninet 10.1.0.1/24 ens34'`);
    const handover = "lvs_handover inet 10.0.0.100/32 ens33; lvs_handover_gateway '10.1.0.1/32'";

    // Already a pair's: keepalived holds the VIP, no generation of this step brought it up, none takes it down.
    writeFileSync(addrs, 'ens33 inet 10.0.0.100/32\n');
    expect(run(handover)).toMatchObject({ status: 0, stderr: '' });
    expect(held()).toEqual(['ens33 inet 10.0.0.100/32']);
    // A single director's, joining a pair: the old generation brought the VIP up (and would take it down).
    writeFileSync(join(dir, 'state', 'addr-ens33-10.0.0.100_32'), 'ours\n');
    expect(run(`${handover}; ${handover}`)).toMatchObject({ status: 0, stderr: '' });
    expect(held()).toEqual(['ens33 inet 10.0.0.100/32', 'lo inet 10.0.0.100/32', 'lo inet 10.1.0.1/32']);
    // The old generation's teardown deletes it from ens33; keepalived, master, adds it back, and the gateway.
    writeFileSync(addrs, 'lo inet 10.0.0.100/32\nlo inet 10.1.0.1/32\nens33 inet 10.0.0.100/32\nens34 inet 10.1.0.1/24\n');
    expect(release(30)).toMatchObject({ status: 0, stderr: '' });
    expect(held()).toEqual(['ens33 inet 10.0.0.100/32', 'ens34 inet 10.1.0.1/24']);
    expect(existsSync(join(dir, 'state', 'handover'))).toBe(false);

    // keepalived never takes it here (its peer is master): the copy goes after the bound, saying so.
    writeFileSync(addrs, 'ens33 inet 10.0.0.100/32\n');
    run('lvs_handover inet 10.0.0.100/32 ens33');
    writeFileSync(addrs, 'lo inet 10.0.0.100/32\n');
    const late = release(1);
    expect(late.status).toBe(0);
    expect(late.stderr).toMatch(/keepalived holds not 10\.0\.0\.100\/32 10\.1\.0\.1\/24 after 1 s/);
    expect(held()).toEqual([]);
    // Nothing handed over: release returns at once, also from a destroy (lvs_remove).
    expect(release(30)).toMatchObject({ status: 0, stderr: '' });
    expect(libraryFunction('lvs_remove')).toMatch(/^\s*lvs_handover_release "\$dir" 0 ''\n\s*sh "\$dir\/down.sh"/m);
  });

  it('sysctls handed to the next generation keep their values through the teardown; a destroy puts back those from before the first apply', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-sysctl-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const values = join(dir, 'values');
    // sysctl over a file of KEY=VALUE lines: -n KEY reads, -q -w KEY=VALUE writes.
    writeFileSync(
      join(dir, 'bin', 'sysctl'),
      `#!/bin/sh\nf=${sq(values)}\nif [ "$1" = -n ]; then awk -F= -v k="$2" '$1 == k { print $2 }' "$f"; exit; fi\nk=\${3%%=*}; grep -v "^$k=" "$f" > "$f.new" || true; echo "$3" >> "$f.new"; mv "$f.new" "$f"\n`,
      { mode: 0o755 },
    );
    const run = (script: string) => spawnSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    const now = () => Object.fromEntries(readFileSync(values, 'utf8').trim().split('\n').map((l) => l.split('=')));
    const dropIn = join(dir, 'drop-in.conf');
    writeFileSync(values, 'a=0\nb=0\nc=0\n');
    expect(run(`lvs_sysctl_record a b; sysctl -q -w a=1; sysctl -q -w b=1`)).toMatchObject({ status: 0, stderr: '' });
    // The next generation sets a (and c, new); b it no longer sets. Its bundle hands over, undoes the old one, applies.
    const begin = oldGeneration(join(dir, 'state'), `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin`, `lvs_sysctl_restore ${sq(dropIn)}`);
    expect(run(`${sysctlHandover([['a', 1], ['c', 1]])}; ${begin}; lvs_sysctl_record a c; sysctl -q -w c=1`)).toMatchObject({ status: 0, stderr: '' });
    expect(now()).toEqual({ a: '1', b: '0', c: '1' });
    expect(run(`lvs_sysctl_restore ${sq(dropIn)}`)).toMatchObject({ status: 0, stderr: '' });
    expect(now()).toEqual({ a: '0', b: '0', c: '0' });
    expect(existsSync(join(dir, 'state', 'sysctl.orig'))).toBe(false);
  });

  it('a VIP and a link handed to the next generation stay through the teardown; a destroy removes what the first apply added', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-keep-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const addrs = join(dir, 'addresses');
    const calls = join(dir, 'calls');
    // ip over a file of "DEV FAMILY CIDR" lines and a file per link that is up; every change logged.
    writeFileSync(
      join(dir, 'bin', 'ip'),
      `#!/bin/sh\nf=${sq(addrs)}\ncase "$1 $2" in\n"-o addr") awk -v d="$5" '$1 == d { print "1: " d "    " $2 " " $3 " scope global " d }' "$f" ;;\n"-o link") if [ -e ${sq(dir)}/up-$5 ]; then echo "5: $5: <NOARP,UP,LOWER_UP>"; else echo "5: $5: <NOARP>"; fi ;;\n"addr add") echo "$*" >> ${sq(calls)}; echo "$5 inet $3" >> "$f" ;;\n"addr del") echo "$*" >> ${sq(calls)}; grep -vxF "$5 inet $3" "$f" > "$f.new" || true; mv "$f.new" "$f" ;;\n"link set") echo "$*" >> ${sq(calls)}; if [ "$5" = up ]; then touch ${sq(dir)}/up-$4; else rm -f ${sq(dir)}/up-$4; fi ;;\nesac\n`,
      { mode: 0o755 },
    );
    writeFileSync(addrs, '');
    const env = `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin`;
    const run = (script: string) => spawnSync('sh', ['-eu', '-c', `${env}\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    const changes = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    const vip: AddressSpec = { cidr: '10.0.0.100/32', dev: 'tunl0' };
    const fragments = composeFragments([linkUpFragment('tunl0'), addressFragment(vip)]);
    const apply = `${fragments.prepare}\n${fragments.up}`;
    expect(run(apply)).toMatchObject({ status: 0, stderr: '' });
    expect(changes()).toEqual(['link set dev tunl0 up', 'addr add 10.0.0.100/32 dev tunl0']);
    // The next generation holds the same VIP on the same link: its bundle hands over, undoes the old one, applies.
    const begin = oldGeneration(join(dir, 'state'), env, fragments.down);
    expect(run(`${linkUpHandover('tunl0')}; ${addressHandover(vip)}; ${begin}\n${apply}`)).toMatchObject({ status: 0, stderr: '' });
    expect(changes()).toEqual(['link set dev tunl0 up', 'addr add 10.0.0.100/32 dev tunl0', 'link set dev tunl0 up']);
    // The records still say the first apply added both: a destroy removes them.
    expect(run(fragments.down)).toMatchObject({ status: 0, stderr: '' });
    expect(changes().slice(3)).toEqual(['addr del 10.0.0.100/32 dev tunl0', 'link set dev tunl0 down']);
  });

  it('a default route handed to the next generation stays through the teardown, with the record of the one before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-route-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const calls = join(dir, 'calls');
    // ip that shows the default route of the time before the first apply and logs every change.
    writeFileSync(join(dir, 'bin', 'ip'), `#!/bin/sh\ncase "$*" in\n"-4 route show default") echo 'default via 10.9.0.1 dev eth1' ;;\n*) echo "$*" >> ${sq(calls)} ;;\nesac\n`, { mode: 0o755 });
    const run = (script: string) => spawnSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    const changes = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    const teardown = "lvs_default_route_restore -4 '10.1.0.1' 'eth0'";
    expect(run('lvs_default_route_record -4')).toMatchObject({ status: 0, stderr: '' });
    const begin = oldGeneration(join(dir, 'state'), `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin`, teardown);
    expect(run(`${defaultRouteHandover('10.1.0.2')}; ${begin}; lvs_default_route_record -4`)).toMatchObject({ status: 0, stderr: '' });
    expect(changes()).toEqual([]);
    // The record still names the route before the first apply: a destroy puts that one back.
    expect(run(teardown)).toMatchObject({ status: 0, stderr: '' });
    expect(changes()).toEqual(['-4 route del default via 10.1.0.1 dev eth0', '-4 route replace default via 10.9.0.1 dev eth1']);
  });

  it('compose keeps prepare/up in order and runs down in reverse', () => {
    const f = composeFragments([{ up: 'a', down: 'A' }, { up: 'b', down: 'B' }]);
    expect(f.up).toBe('a\nb');
    expect(f.down).toBe('B\nA');
  });
});

describe('IPVS table scripts', () => {
  const table = ipvsTableFragment({
    services: model([{ protocol: 'tcp', vip: '10.0.0.1', port: 80, scheduler: 'rr', realServers: [{ address: '10.0.0.2', port: 80, forwarding: 'dr', weight: 1 }] }]),
    ownsWholeTable: false,
    drainSeconds: 30,
    marksChain: 'LVS-CDKTF-test',
    keepalivedServices: [],
  });

  it('applies thresholds, which ipvsadm-save does not print', () => {
    const t = ipvsTableFragment({
      services: model([{ protocol: 'tcp', vip: '10.0.0.1', port: 80, scheduler: 'rr', realServers: [{ address: '10.0.0.2', port: 80, forwarding: 'tun', weight: 1, upperThreshold: 9, lowerThreshold: 3 }] }]),
      ownsWholeTable: false,
      drainSeconds: 30,
      marksChain: 'LVS-CDKTF-test',
      keepalivedServices: [],
    });
    expect(t.up).toContain('-a -t 10.0.0.1:80 -r 10.0.0.2:80 -i -w 1 -x 9 -y 3\n');
    expect(t.up).not.toContain('--tun-type');
  });

  it('never flush: services are edited in place, servers drained before deletion', () => {
    const up = libraryFunction('lvs_table_up');
    expect(table.up).toContain('lvs_table_up no 30 "$desired_services" "$desired_rules" "$keepalived_services"');
    expect(up).not.toMatch(/ipvsadm -C/);
    expect(up).toContain('ipvsadm -E "$proto" "$addr" $rest');
    expect(up).toContain('ipvsadm -e "$proto" "$addr" -r "$rs" $rest');
    expect(libraryFunction('lvs_drain')).toContain('-w 0');
    expect(libraryFunction('lvs_drain_and_delete')).toMatch(/lvs_drain "\$1"[\s\S]*ipvsadm -d/);
  });

  it('owning the whole table, a deploy deletes every live service it does not declare, but not keepalived\'s', () => {
    // The library run by sh with ipvsadm as a stub: a table of three services, each call logged.
    const dir = mkdtempSync(join(tmpdir(), 'lvs-table-'));
    const stub = [
      `dir=${sq(dir)}`,
      'ipvsadm() { echo "ipvsadm $*" >> "$dir/calls"; case "$*" in "-S -n") printf "%s\\n" "-A -t 10.0.0.1:80 -s rr" "-A -t 10.0.0.9:80 -s rr" "-A -t 10.0.0.8:80 -s rr" ;; esac; }',
      'lvs_save_rules() { :; }',
      'lvs_table_up yes 0 "-t 10.0.0.1:80" "-A -t 10.0.0.1:80 -s rr" "-t 10.0.0.8:80"',
    ].join('\n');
    const res = spawnSync('sh', ['-eu', '-c', `${LIBRARY}\n${stub}`], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const calls = readFileSync(join(dir, 'calls'), 'utf8').split('\n');
    expect(calls).toContain('ipvsadm -D -t 10.0.0.9:80');
    expect(calls.filter((c) => c.startsWith('ipvsadm -D'))).toEqual(['ipvsadm -D -t 10.0.0.9:80']);
  });

  it('deletes only its own services unless it owns the whole table', () => {
    expect(table.down).toBe("lvs_chain_down iptables PREROUTING 'LVS-CDKTF-test'\nlvs_table_down no 30");
    expect(libraryFunction('lvs_table_down')).toMatch(/if \[ "\$1" = yes \]; then[\s\S]*grep -vxF -f "\$dir\/services.keepalived"[\s\S]*ipvsadm -D \$sel/);
    const whole = ipvsTableFragment({ services: [], ownsWholeTable: true, drainSeconds: 1, marksChain: 'LVS-CDKTF-test', keepalivedServices: [] });
    expect(whole.down).toBe("lvs_chain_down iptables PREROUTING 'LVS-CDKTF-test'\nlvs_table_down yes 1");
    expect(whole.up).toContain('lvs_table_up yes');
    expect(libraryFunction('lvs_table_up')).toContain("ipvsadm -S -n | awk '$1 == \"-A\"");
  });

  it('keeps the distribution rules file in step, restoring the original on destroy', () => {
    expect(libraryFunction('lvs_table_up')).toContain('lvs_save_rules');
    expect(libraryFunction('lvs_os_family')).toContain('. /etc/os-release');
    expect(libraryFunction('lvs_rules_file')).toContain('/etc/ipvsadm.rules');
    expect(libraryFunction('lvs_rules_file')).toContain('/etc/sysconfig/ipvsadm');
    expect(libraryFunction('lvs_table_down')).toContain('rules.orig');
    expect(table.prepare).toBe('lvs_table_record');
  });
});

/** One function of the shell library, from its definition to its closing brace. */
function libraryFunction(name: string): string {
  const m = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}$`, 'm').exec(LIBRARY);
  if (!m) throw new Error(`no function ${name} in lvs.sh`);
  return m[0];
}

/** The three stacks with their service health-checked: keepalived owns it, in a step of its own. */
const CHECKED: LvsConfig = { stacks: Object.fromEntries(['nat-stack', 'dr-stack', 'tun-stack'].map((n) => [n, { service: { healthCheck: { type: 'http' } } }])) };

/** Every script every stack generates, as declared and health-checked, for both resource kinds. */
function allScripts(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [variant, config] of [['plain', {}], ['checked', CHECKED]] as const) {
    for (const kind of Object.values(ResourceKind)) {
      for (const stack of stacks(config, kind)) {
        for (const r of resourcesOf(stack)) {
          const key = `${variant}/${kind}/${stack.node.id}/${r.name}`;
          out[`${key}/apply`] = r.create;
          out[`${key}/destroy`] = r.destroy;
          for (const [path, body] of Object.entries(r.files)) {
            if (path.endsWith('.sh')) out[`${key}${path}`] = body;
          }
        }
      }
    }
  }
  return out;
}

describe('generated scripts', () => {
  const scripts = allScripts();

  it('are many: apply, destroy, up.sh, down.sh and remove.sh of every resource', () => {
    // 3 stacks x 4 resources (5 health-checked) x 5 scripts x 2 kinds
    expect(Object.keys(scripts)).toHaveLength(3 * (4 + 5) * 5 * 2);
  });

  it('all start with set -eu', () => {
    for (const [name, body] of Object.entries(scripts)) {
      expect([name, body.split('\n').slice(0, 2)]).toEqual([name, ['#!/bin/sh', 'set -eu']]);
    }
  });

  it('all pass shellcheck', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-sc-'));
    const files = Object.entries(scripts).map(([name, body], i) => {
      const file = join(dir, `${i}-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.sh`);
      writeFileSync(file, body);
      return file;
    });
    // The library file as it is in the source tree, too.
    const res = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', join(__dirname, '../lib/scripts/lvs.sh'), ...files], { encoding: 'utf8' });
    if (res.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck): ${res.error.message}`);
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});

describe('package installation path', () => {
  // Runs lvs_install against a fake /etc/os-release and fake package managers
  // in a private mount namespace, so the install branch is exercised here too.
  const run = (osRelease: string, has: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-inst-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'os-release'), osRelease);
    for (const tool of has) {
      writeFileSync(join(dir, 'bin', tool), `#!/bin/sh\necho "${tool} $*" >> ${sq(join(dir, 'calls'))}\n`, { mode: 0o755 });
    }
    const sh = `${LIBRARY}\nlvs_install ipvsadm\n`;
    execFileSync('unshare', ['-m', 'sh', '-c', `mount --bind ${sq(join(dir, 'os-release'))} /etc/os-release && PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin sh -eu -c ${sq(sh)}`]);
    return readFileSync(join(dir, 'calls'), 'utf8');
  };

  it('uses apt-get on Debian-family hosts', () => {
    expect(run('ID=ubuntu\nID_LIKE=debian\n', ['apt-get'])).toContain('apt-get install -y -q ipvsadm');
  });

  it('uses dnf, else yum, on RHEL-family hosts', () => {
    expect(run('ID="rocky"\nID_LIKE="rhel centos fedora"\n', ['dnf', 'yum'])).toBe('dnf install -y -q ipvsadm\n');
    expect(run('ID="centos"\nID_LIKE="rhel fedora"\n', ['yum'])).toBe('yum install -y -q ipvsadm\n');
  });
});

describe('kernel modules and IPVS settings on the host', () => {
  // Runs the library with lsmod, rmmod, modprobe and ip replaced by stubs
  // that act on a file of loaded modules (name and use count).
  const host = (loaded: Record<string, number>, holds: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-mod-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const modules = join(dir, 'modules');
    const write = (m: Record<string, number>) => writeFileSync(modules, Object.entries(m).map(([name, n]) => `${name} ${n}\n`).join(''));
    write(loaded);
    const stub = (name: string, body: string) => writeFileSync(join(dir, 'bin', name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    stub('lsmod', `echo 'Module Size Used by'; awk '{ print $1, 16384, $2 }' ${sq(modules)}`);
    stub('modprobe', `[ "$1" = --show-depends ] && case "$2" in ip_vs) echo "insmod /lib/modules/6.1.0/kernel/nf_conntrack.ko.xz"; echo "insmod /lib/modules/6.1.0/kernel/ip_vs.ko.xz" ;; ipip) echo "insmod /lib/modules/6.1.0/kernel/tunnel4.ko"; echo "insmod /lib/modules/6.1.0/kernel/ipip.ko" ;; esac; exit 0`);
    // rmmod drops the module and the reference it held on the module it uses.
    const holders = Object.entries(holds).map(([m, used]) => `${m}) used=${used} ;;`).join(' ');
    stub('rmmod', `echo "$1" >> ${sq(join(dir, 'calls'))}; used=; case "$1" in ${holders} esac
awk -v m="$1" -v u="$used" '$1 != m { if ($1 == u) $2--; print }' ${sq(modules)} > ${sq(modules)}.new && mv ${sq(modules)}.new ${sq(modules)}`);
    stub('ip', `[ -f ${sq(join(dir, 'tunnels'))} ] && cat ${sq(join(dir, 'tunnels'))}; exit 0`);
    const run = (script: string) =>
      execFileSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    const load = (m: Record<string, number>) => {
      const now = Object.fromEntries(readFileSync(modules, 'utf8').trim().split('\n').filter(Boolean).map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
      write({ ...now, ...m });
    };
    const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []);
    const names = () => readFileSync(modules, 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);
    return { dir, run, load, calls, names };
  };

  it('destroy unloads what the deploy loaded and nothing uses, dependents first; what was loaded before stays', () => {
    // Before: nf_conntrack, used by someone else's firewall. The deploy loads
    // ip_vs and a scheduler its service pulled in; something unrelated loads wireguard.
    const h = host({ nf_conntrack: 1, bridge: 0 }, { ip_vs_rr: 'ip_vs', ip_vs: 'nf_conntrack' });
    h.run('lvs_modules_record ip_vs');
    h.load({ nf_conntrack: 2, ip_vs: 1, ip_vs_rr: 0, wireguard: 0 });
    expect(h.run('lvs_modules_restore')).toBe('lvs-cdktf: o: unloaded ip_vs_rr\nlvs-cdktf: o: unloaded ip_vs\n');
    expect(h.calls()).toEqual(['ip_vs_rr', 'ip_vs']);
    expect(h.names()).toEqual(['nf_conntrack', 'bridge', 'wireguard']);
    expect(existsSync(join(h.dir, 'state', 'modules.orig'))).toBe(false);
  });

  it('leaves a module in use, one loaded before, and ipip while it carries a tunnel besides tunl0', () => {
    const h = host({ ip_vs: 0 }, { ipip: 'tunnel4' });
    h.run('lvs_modules_record ip_vs ipip');
    h.load({ ipip: 0, tunnel4: 1, ip_vs_wlc: 1 });
    writeFileSync(join(h.dir, 'tunnels'), '4: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480\n7: tun9@NONE: <POINTOPOINT,NOARP> mtu 1480\n');
    h.run('lvs_modules_restore');
    expect(h.calls()).toEqual([]);
    // With only tunl0, ipip and then tunnel4 go.
    const g = host({}, { ipip: 'tunnel4' });
    g.run('lvs_modules_record ipip');
    g.load({ ipip: 0, tunnel4: 1 });
    writeFileSync(join(g.dir, 'tunnels'), '4: tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480\n');
    g.run('lvs_modules_restore');
    expect(g.calls()).toEqual(['ipip', 'tunnel4']);
  });

  it('a later generation adds to the modules it may unload; the record of what was loaded before is kept', () => {
    const h = host({}, {});
    h.run('lvs_modules_record ip_vs');
    h.load({ ip_vs: 0 });
    h.run('lvs_modules_record ip_vs ipip');
    expect(readFileSync(join(h.dir, 'state', 'modules.orig'), 'utf8')).toBe('');
    expect(readFileSync(join(h.dir, 'state', 'modules.ours'), 'utf8').trim().split('\n').sort()).toEqual(['ip_vs', 'ip_vs_*', 'ipip', 'nf_conntrack', 'tunnel4']);
  });

  it('a deploy that uses iptables may unload the bpfilter module iptables loads on kernels built with it', () => {
    const h = host({}, {});
    h.run('lvs_modules_record ip_vs iptable_mangle xt_mark');
    h.load({ ip_vs: 0, iptable_mangle: 0, xt_mark: 0, bpfilter: 0 });
    h.run('lvs_modules_restore');
    expect(h.calls().sort()).toEqual(['bpfilter', 'ip_vs', 'iptable_mangle', 'xt_mark']);
  });

  it('records the IPVS timeouts once and puts them back', () => {
    const h = host({}, {});
    writeFileSync(join(h.dir, 'bin', 'ipvsadm'), `#!/bin/sh\necho "ipvsadm $*" >> ${sq(join(h.dir, 'calls'))}\n[ "$1" = -L ] && echo 'Timeout (tcp tcpfin udp): 900 120 300'\nexit 0\n`, { mode: 0o755 });
    h.run('lvs_ipvs_timeouts_record\nipvsadm --set 60 7 0\nlvs_ipvs_timeouts_record\nlvs_ipvs_timeouts_restore');
    expect(h.calls()).toEqual(['ipvsadm -L --timeout', 'ipvsadm --set 60 7 0', 'ipvsadm --set 900 120 300']);
  });

  it('a drain waits for active TCP connections, and for UDP, which has no established state, for its flows', () => {
    const h = host({}, {});
    const listing = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'X  192.168.115.110:80 rr',
      '  -> 192.168.115.112:80           Route   0      0          5',
      '  -> 192.168.115.113:80           Route   1      2          9',
    ].join('\\n');
    writeFileSync(join(h.dir, 'bin', 'ipvsadm'), `#!/bin/sh\nprintf '${listing}\\n'\n`, { mode: 0o755 });
    const conns = (sel: string, rs: string) => h.run(`lvs_active_conns ${sq(sel)} ${rs}`).trim();
    expect(conns('-t 192.168.115.110:80', '192.168.115.112:80')).toBe('0');
    expect(conns('-t 192.168.115.110:80', '192.168.115.113:80')).toBe('2');
    expect(conns('-u 192.168.115.110:80', '192.168.115.112:80')).toBe('5');
    expect(conns('-u 192.168.115.110:80', '192.168.115.113:80')).toBe('11');
  });

  it('conn_reuse_mode auto: 0 before 5.9; from 5.9 the value given, else the kernel value', () => {
    const cases = [
      ['4.19.0-25-amd64', '', ['sysctl -q -w net.ipv4.vs.conn_reuse_mode=0']],
      ['4.19.0-25-amd64', ' 2', ['sysctl -q -w net.ipv4.vs.conn_reuse_mode=0']],
      ['5.9.0', '', []],
      ['6.1.0-28-amd64', '', []],
      ['5.9.0', ' 2', ['sysctl -q -w net.ipv4.vs.conn_reuse_mode=2']],
      ['6.1.0-28-amd64', ' 2', ['sysctl -q -w net.ipv4.vs.conn_reuse_mode=2']],
    ] as const;
    for (const [release, later, expected] of cases) {
      const h = host({}, {});
      writeFileSync(join(h.dir, 'bin', 'uname'), `#!/bin/sh\necho ${release}\n`, { mode: 0o755 });
      writeFileSync(join(h.dir, 'bin', 'sysctl'), `#!/bin/sh\necho "sysctl $*" >> ${sq(join(h.dir, 'calls'))}\n`, { mode: 0o755 });
      h.run(`lvs_conn_reuse_auto${later}`);
      expect([release, later, h.calls()]).toEqual([release, later, expected]);
    }
  });
});

describe('marking rules for firewall-mark services', () => {
  // A fake iptables that keeps PREROUTING's jumps in a file and logs every call.
  const host = () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-marks-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const f = (name: string) => sq(join(dir, name));
    writeFileSync(join(dir, 'jumps'), '');
    writeFileSync(join(dir, 'bin', 'iptables'), `#!/bin/sh
echo "iptables $*" >> ${f('calls')}
shift 3; op=$1; shift
case "$op" in
  -S) sed 's/^/-A PREROUTING -j /' ${f('jumps')} ;;
  -I) echo "$4" >> ${f('jumps')} ;;
  -D) grep -qx "$3" ${f('jumps')} || exit 1; grep -vx "$3" ${f('jumps')} > ${f('j.new')}; mv ${f('j.new')} ${f('jumps')} ;;
esac
exit 0
`, { mode: 0o755 });
    writeFileSync(join(dir, 'bin', 'lsmod'), "#!/bin/sh\necho 'Module Size Used by'\necho 'iptable_mangle 16384 1'\n", { mode: 0o755 });
    const run = (script: string) => {
      writeFileSync(join(dir, 'calls'), '');
      execFileSync('sh', ['-eu', '-c', `PATH=${f('bin')}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${f('state')}\n${script}`]);
      return readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean).map((l) => l.replace('iptables -w -t mangle ', ''));
    };
    const jumps = () => readFileSync(join(dir, 'jumps'), 'utf8').trim().split('\n').filter(Boolean);
    return { run, jumps };
  };
  const R1 = '-d 10.0.0.9/32 -p tcp -m tcp --dport 80 -j MARK --set-mark 7\n-d 10.0.0.9/32 -p tcp -m tcp --dport 443 -j MARK --set-mark 7';

  it('fill a chain of their own, then jump to it; the same rules again change nothing', () => {
    const h = host();
    const first = h.run(`lvs_chain_up iptables PREROUTING C "$(printf '%s' '${R1}')"`);
    expect(first.slice(first.indexOf('-N C-a'))).toEqual([
      '-N C-a',
      '-A C-a -d 10.0.0.9/32 -p tcp -m tcp --dport 80 -j MARK --set-mark 7',
      '-A C-a -d 10.0.0.9/32 -p tcp -m tcp --dport 443 -j MARK --set-mark 7',
      '-I PREROUTING 1 -j C-a',
    ]);
    expect(h.jumps()).toEqual(['C-a']);
    expect(h.run(`lvs_chain_up iptables PREROUTING C "$(printf '%s' '${R1}')"`)).toEqual(['-S PREROUTING']);
  });

  it('a change fills the other chain and moves the jump before the old chain goes; down removes both', () => {
    const h = host();
    h.run(`lvs_chain_up iptables PREROUTING C "$(printf '%s' '${R1}')"`);
    const change = h.run(`lvs_chain_up iptables PREROUTING C '-d 10.0.0.9/32 -p udp -m udp --dport 53 -j MARK --set-mark 7'`);
    expect(change.indexOf('-I PREROUTING 1 -j C-b')).toBeLessThan(change.indexOf('-D PREROUTING -j C-a'));
    expect(change).toContain('-X C-a');
    expect(h.jumps()).toEqual(['C-b']);
    h.run('lvs_chain_down iptables PREROUTING C');
    expect(h.jumps()).toEqual([]);
  });
});

describe('default routes of a dual-stack NAT server', () => {
  // `ip` prints one default route per family and logs every change.
  it('are recorded and restored per family: the IPv6 record does not shadow the IPv4 one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-route-'));
    for (const d of ['bin', 'state']) mkdirSync(join(dir, d));
    const calls = join(dir, 'calls');
    writeFileSync(
      join(dir, 'bin', 'ip'),
      `#!/bin/sh\ncase "$*" in\n"-4 route show default") echo 'default via 10.0.0.1 dev eth0' ;;\n"-6 route show default") echo 'default via fe80::1 dev eth0' ;;\n*) echo "$*" >> ${sq(calls)} ;;\nesac\n`,
      { mode: 0o755 },
    );
    const run = (script: string) =>
      execFileSync('sh', ['-eu', '-c', `PATH=${sq(join(dir, 'bin'))}:/usr/bin:/bin\n${LIBRARY}\nowner=o dir=${sq(join(dir, 'state'))}\n${script}`], { encoding: 'utf8' });
    run('lvs_default_route_record -4; lvs_default_route_record -6');
    run("lvs_default_route_restore -6 'fd00:116::111' ens33; lvs_default_route_restore -4 '192.168.116.111' ens33");
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      '-6 route del default via fd00:116::111 dev ens33',
      '-6 route replace default via fe80::1 dev eth0',
      '-4 route del default via 192.168.116.111 dev ens33',
      '-4 route replace default via 10.0.0.1 dev eth0',
    ]);
  });
});

describe('web server restore', () => {
  // down.sh as a bundle writes it, run the way teardown and destroy run it (only its dir
  // set), with /var/lib and /run private and systemctl a stub whose unit ends `after` once stopped;
  // `keep`: the next generation's web server, handed over first (lvs_web_server_keep).
  const restore = (before: string, after: string, keep?: string) => {
    const t = mkdtempSync(join(tmpdir(), 'lvs-web-'));
    const state = join(t, 'lib', 'lvs-cdktf', 'o');
    for (const d of [state, join(t, 'bin'), join(t, 'www')]) mkdirSync(d, { recursive: true });
    const bundle = renderBundle({ owner: 'o', description: 'a web server', prepare: '', up: '', down: 'lvs_web_server_restore', onChange: 'teardown' });
    writeFileSync(join(state, 'down.sh'), bundle.downScript);
    writeFileSync(join(state, 'generation'), 'g1\n');
    writeFileSync(join(state, 'lib.sh'), LIBRARY);
    const record = { recorded: '', service: 'apache2', docroot: join(t, 'www'), 'was-stopped': before };
    for (const [k, v] of Object.entries(record)) writeFileSync(join(state, `web.${k}`), v + '\n');
    const calls = join(t, 'calls');
    writeFileSync(
      join(t, 'bin', 'systemctl'),
      `#!/bin/sh\necho "$*" >> ${sq(calls)}\ncase "$1" in\n  stop) touch ${sq(join(t, 'stopped'))} ;;\n  is-active) if [ -e ${sq(join(t, 'stopped'))} ]; then echo ${after}; exit 3; fi; echo active ;;\nesac\n`,
      { mode: 0o755 },
    );
    writeFileSync(calls, '');
    // With a next generation: its handover, then its lvs_begin runs down.sh; without: a destroy's down.sh.
    const undo = keep
      ? `sh -euc '. /var/lib/lvs-cdktf/o/lib.sh; owner=o dir=/var/lib/lvs-cdktf/o gen=g2; lvs_web_server_keep ${keep}; lvs_begin teardown >/dev/null'`
      : 'sh /var/lib/lvs-cdktf/o/down.sh';
    const res = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind ${sq(join(t, 'lib'))} /var/lib && mount -t tmpfs none /run && mkdir -p /run/systemd/system && export PATH=${sq(join(t, 'bin'))}:$PATH && ${undo}`], { encoding: 'utf8' });
    return { status: res.status, stderr: res.stderr, calls: readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean), state: readdirSync(state).sort() };
  };

  it('clears a failed state its own stop caused, saying so, and leaves a unit that was failed before as it was', () => {
    const ours = restore('inactive', 'failed');
    expect(ours.status).toBe(0);
    expect(ours.calls).toEqual(['stop apache2', 'is-active apache2', 'reset-failed apache2']);
    expect(ours.stderr).toContain('lvs-cdktf: apache2 failed on its stop (journalctl -u apache2); clearing its failed state');
    expect(restore('failed', 'failed').calls).toEqual(['stop apache2']);
    expect(restore('inactive', 'inactive')).toMatchObject({ status: 0, stderr: '', calls: ['stop apache2', 'is-active apache2'] });
  });

  it('leaves the web server serving, and recorded, when the next generation runs the same one; another one it restores', () => {
    const kept = restore('inactive', 'inactive', 'httpd');
    expect(kept).toMatchObject({ status: 0, stderr: '', calls: [] });
    expect(kept.state).toEqual(['down.sh', 'generation', 'lib.sh', 'web.docroot', 'web.recorded', 'web.service', 'web.was-stopped']);
    expect(restore('inactive', 'inactive', 'nginx')).toMatchObject({ status: 0, calls: ['stop apache2', 'is-active apache2'], state: ['down.sh', 'generation', 'lib.sh'] });
  });
});
