import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { DrRealServer, LvsDirector, LvsDirectorPair, LvsDirectorPairProps, NatRealServer, SorryServerOptions, TunRealServer, VirtualService, VirtualServiceOptions } from '../lib';
import { topologyOf } from '../lib/topology';
import { keepalivedConfig } from '../lib/scripts/keepalived';
import { appWith, fullJson, resourcesOf } from './helpers';

const dir = mkdtempSync(join(tmpdir(), 'lvs-keepalived-'));

/**
 * `keepalived -t` (Debian's 2.2.7, or whatever the machine has) on a
 * configuration: its exit status and messages. It checks that VRRP
 * interfaces exist: with `interfaces`, it runs in a network namespace of its
 * own that has them (veths).
 */
function configTest(name: string, text: string, interfaces: string[] = []): { status: number | null; output: string } {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, text);
  const links = interfaces.map((i, n) => `ip link add ${i} type veth peer name lvs-peer${n} && `).join('');
  const res = interfaces.length
    ? spawnSync('unshare', ['-n', 'sh', '-c', `${links}exec keepalived -t -f "$0"`, file], { encoding: 'utf8' })
    : spawnSync('keepalived', ['-t', '-f', file], { encoding: 'utf8' });
  if (res.error) throw new Error(`keepalived is not installed (apt-get install keepalived): ${res.error.message}`);
  return { status: res.status, output: res.stdout + res.stderr };
}

type Kind = 'nat' | 'dr' | 'tun';
const SERVER = { nat: NatRealServer, dr: DrRealServer, tun: TunRealServer };

/** One director with one service of two real servers of `kind`. */
function service(kind: Kind, options: VirtualServiceOptions, ipv6 = false): { stack: TerraformStack; service: VirtualService } {
  const stack = new TerraformStack(appWith(), 's');
  const director = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'ens33', address: ipv6 ? '2001:db8::10/64' : '10.0.0.10/24' }] });
  const svc = director.addService('svc', options);
  for (const n of [1, 2]) {
    const address = ipv6 ? `2001:db8::${n + 10}/64` : `10.0.0.${n + 10}/24`;
    svc.addRealServer(new SERVER[kind](stack, `web${n}`, { connection: { host: `web${n}` }, dataInterface: { name: 'ens33', address } }), { weight: n - 1, ...(kind === 'nat' ? { port: 8080 } : {}) });
  }
  return { stack, service: svc };
}

const render = (kind: Kind, options: VirtualServiceOptions, ipv6 = false) => keepalivedConfig('s/lb', [service(kind, options, ipv6).service._entry()]);

describe('keepalived configuration', () => {
  it('renders a virtual_server per service, a real_server per server and its check', () => {
    const text = render('dr', {
      vip: '10.0.0.100',
      scheduler: 'wlc',
      persistence: { timeout: 600, netmask: '255.255.255.0' },
      healthCheck: { type: 'http', path: '/health', statusCodes: [200, '301-302'], port: 8081, intervalSeconds: 2, timeoutSeconds: 4, retries: 3, retryDelaySeconds: 2, inhibitOnFailure: true },
    });
    const server = (n: number) => [
      `  real_server 10.0.0.${n + 10} 80 {`,
      `    weight ${n - 1}`,
      '    inhibit_on_failure',
      '    HTTP_GET {',
      '      url {',
      '        path /health',
      '        status_code 200 301-302',
      '      }',
      '      connect_port 8081',
      '      connect_timeout 4',
      '      retry 3',
      '      delay_before_retry 2',
      '    }',
      '  }',
    ];
    expect(text.split('\n')).toEqual([
      '# lvs-cdktf: keepalived configuration of s/lb; each deploy rewrites it, edit the code instead.',
      'global_defs {',
      '  script_user root',
      '  enable_script_security',
      '}',
      'virtual_server 10.0.0.100 80 {',
      '  delay_loop 2',
      '  lb_algo wlc',
      '  lb_kind DR',
      '  protocol TCP',
      '  persistence_timeout 600',
      '  persistence_granularity 255.255.255.0',
      ...server(1),
      ...server(2),
      '}',
      '',
    ]);
  });

  it('a sorry server follows the forwarding method, with the quorum and hysteresis, kept at weight 0 when not needed; keepalived -t accepts it', () => {
    const sorryOf = (kind: Kind, options: VirtualServiceOptions, sorry: SorryServerOptions) => {
      const { stack, service: svc } = service(kind, options);
      // The quorum may ask for no more than the real servers' weights (0 and 1 so far), which keepalived -t checks.
      svc.addRealServer(new SERVER[kind](stack, 'web3', { connection: { host: 'web3' }, dataInterface: { name: 'ens33', address: '10.0.0.13/24' } }), { weight: 2, ...(kind === 'nat' ? { port: 8080 } : {}) });
      svc.setSorryServer(new SERVER[kind](stack, 'sorry', { connection: { host: 'sorry' }, dataInterface: { name: 'ens33', address: '10.0.0.20/24' } }), sorry);
      return keepalivedConfig('s/lb', [svc._entry()]);
    };
    const nat = sorryOf('nat', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } }, { port: 8081, quorum: 2, hysteresis: 1 });
    expect(nat).toContain('  lb_kind NAT\n  protocol TCP\n  quorum 2\n  hysteresis 1\n  sorry_server 10.0.0.20 8081\n  sorry_server_inhibit\n  real_server 10.0.0.11 8080 {\n');
    // The passing real servers too stay at weight 0 when the sorry server takes over.
    expect(nat).toContain('    inhibit_on_failure\n');
    expect(configTest('sorry-nat', nat)).toEqual({ status: 0, output: '' });
    const mark = sorryOf('dr', { fwmark: 3, vip: '10.0.0.100', markRules: [{ ports: [80] }], healthCheck: { type: 'tcp', port: 80 } }, {});
    expect(mark).toContain('  quorum 1\n  hysteresis 0\n  sorry_server 10.0.0.20 0\n  sorry_server_inhibit\n');
    expect(configTest('sorry-fwmark', mark)).toEqual({ status: 0, output: '' });
  });

  it('a command check gets the real server address and port as its last arguments', () => {
    const text = render('nat', { vip: '10.0.0.100', port: 53, protocol: 'udp', onePacket: true, healthCheck: { type: 'command', command: '/usr/bin/dig  +short' } });
    expect(text).toContain('  protocol UDP\n  ops\n');
    expect(text).toContain('      misc_path "/usr/bin/dig +short 10.0.0.11 8080"\n      misc_timeout 3\n      retry 1\n      delay_before_retry 1\n');
  });

  it('a UDP check sends its payload and, with requireReply, needs an answer', () => {
    const text = render('dr', { vip: '10.0.0.100', port: 53, protocol: 'udp', healthCheck: { type: 'udp', payload: '1234010000010000000000000000020001', requireReply: true, port: 5353 } });
    expect(text).toContain(
      ['    UDP_CHECK {', '      connect_port 5353', '      connect_timeout 3', '      retry 1', '      delay_before_retry 1', '      payload 1234010000010000000000000000020001', '      require_reply', '    }'].join('\n'),
    );
    const bare = render('dr', { vip: '10.0.0.100', port: 53, protocol: 'udp', healthCheck: { type: 'udp' } });
    expect(bare).toContain(['    UDP_CHECK {', '      connect_timeout 3', '      retry 1', '      delay_before_retry 1', '    }'].join('\n'));
  });

  // Four fields each: jest would pass its done callback for a missing last one.
  const variants: [string, Kind, VirtualServiceOptions, boolean][] = [
    ['DR, HTTP GET with status ranges, persistence, inhibit', 'dr', { vip: '10.0.0.100', persistence: { timeout: 60, netmask: '255.255.0.0' }, healthCheck: { type: 'http', statusCodes: [200, '300-399'], inhibitOnFailure: true } }, false],
    ['NAT with a mapped port, TCP connect', 'nat', { vip: '10.0.0.100', scheduler: 'wrr', healthCheck: { type: 'tcp' } }, false],
    ['NAT UDP one-packet, command', 'nat', { vip: '10.0.0.100', port: 53, protocol: 'udp', onePacket: true, healthCheck: { type: 'command', command: '/bin/true -x' } }, false],
    ['DR UDP, UDP datagram with a payload, answer required', 'dr', { vip: '10.0.0.100', port: 53, protocol: 'udp', healthCheck: { type: 'udp', payload: 'ABCDEF00', requireReply: true } }, false],
    ['UDP firewall mark, UDP datagram to a port', 'dr', { fwmark: 8, vip: '10.0.0.100', markRules: [{ protocol: 'udp', ports: [53] }], healthCheck: { type: 'udp', port: 53 } }, false],
    ['SCTP, command', 'dr', { vip: '10.0.0.100', port: 3868, protocol: 'sctp', healthCheck: { type: 'command', command: '/bin/true' } }, false],
    ['TUN firewall mark, TCP connect to a port', 'tun', { fwmark: 7, vip: '10.0.0.100', markRules: [{ ports: [80, 443] }], healthCheck: { type: 'tcp', port: 80 } }, false],
    ['IPv6 DR, HTTP GET', 'dr', { vip: '2001:db8::100', persistence: { timeout: 300, netmask: '64' }, healthCheck: { type: 'http' } }, true],
  ];

  it.each(variants)('keepalived -t accepts it: %s', (name, kind, options, ipv6) => {
    const text = render(kind, options, ipv6);
    expect(configTest(name.replace(/\W+/g, '-'), text)).toEqual({ status: 0, output: '' });
  });

  it('keepalived -t refuses what it does not know (the check has teeth)', () => {
    const text = render('dr', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } }).replace('    weight 0\n', '    weight 0\n    tun_type gue\n');
    const res = configTest('unknown-keyword', text);
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/Unknown keyword 'tun_type'/);
  });

  it('puts keepalived in a step of its own that the table step runs after; the table step leaves the service to it', () => {
    const { stack } = service('dr', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } });
    const byName = new Map(resourcesOf(stack).map((r) => [r.name, r]));
    const keepalived = byName.get('lb_Keepalived')!;
    const table = byName.get('lb_Services')!;
    expect(keepalived.body.depends_on).toEqual(expect.arrayContaining(['terraform_data.lb_Host', 'terraform_data.web1_Host', 'terraform_data.web2_Host']));
    expect(table.body.depends_on).toContain('terraform_data.lb_Keepalived');
    expect(keepalived.files['/var/lib/lvs-cdktf/s-lb-keepalived/up.sh']).toContain('virtual_server 10.0.0.100 80 {');
    const tableUp = table.files['/var/lib/lvs-cdktf/s-lb-services/up.sh'];
    expect(tableUp).toContain("desired_services=$(cat <<'LVS_RULES'\n\nLVS_RULES\n)");
    expect(tableUp).toContain("keepalived_services=$(cat <<'LVS_RULES'\n-t 10.0.0.100:80\nLVS_RULES\n)");
  });
});

/** Two DR directors on one LAN paired, one service on the first, two real servers. */
function pairStack(pair: Partial<LvsDirectorPairProps> = {}, service: VirtualServiceOptions = { vip: '10.0.0.100', healthCheck: { type: 'tcp' } }) {
  const stack = new TerraformStack(appWith(), 's');
  const d1 = new LvsDirector(stack, 'lb1', { connection: { host: 'lb1' }, interfaces: [{ name: 'ens33', address: '10.0.0.10/24' }] });
  const d2 = new LvsDirector(stack, 'lb2', { connection: { host: 'lb2' }, interfaces: [{ name: 'ens33', address: '10.0.0.9/24' }] });
  const svc = d1.addService('svc', service);
  new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51, ...pair });
  for (const n of [1, 2]) svc.addRealServer(new DrRealServer(stack, `web${n}`, { connection: { host: `web${n}` }, dataInterface: { name: 'ens33', address: `10.0.0.${n + 10}/24` } }));
  return stack;
}

describe('a director pair', () => {
  const confOf = (stack: TerraformStack, director: string) => {
    const up = resourcesOf(stack).find((r) => r.name === `${director}_Keepalived`)!.files[`/var/lib/lvs-cdktf/s-${director}-keepalived/up.sh`];
    return /keepalived_conf=\$\(cat <<'LVS_KEEPALIVED'\n([\s\S]*?)\nLVS_KEEPALIVED/.exec(up)![1] + '\n';
  };

  it('renders a VRRP instance per director holding the VIPs, unicast to the peer, with connection sync', () => {
    const stack = pairStack();
    const conf = confOf(stack, 'lb2');
    expect(conf).toContain('  lvs_sync_daemon ens33 VI_51\n}\n');
    expect(conf).toContain(
      ['vrrp_instance VI_51 {', '  state BACKUP', '  interface ens33', '  virtual_router_id 51', '  priority 100', '  advert_int 1', '  nopreempt',
        '  unicast_src_ip 10.0.0.9', '  unicast_peer {', '    10.0.0.10', '  }', '  virtual_ipaddress {', '    10.0.0.100/32 dev ens33', '  }', '}'].join('\n'),
    );
    expect(confOf(stack, 'lb1')).toContain('  priority 150\n');
    // Both directors serve the service, with keepalived owning it on each.
    expect(conf).toContain('virtual_server 10.0.0.100 80 {');
  });

  it("keeps the VIPs out of the directors' Host steps: keepalived brings them up on the active one", () => {
    const stack = pairStack({}, { vip: '10.0.0.100' });
    const topology = topologyOf(fullJson(stack), 's')!;
    for (const d of topology.directors) expect(d.settings.addresses).toEqual([]);
    expect(topology.directors.map((d) => [d.path, d.pair?.peer, d.pair?.vrrp.addresses])).toEqual([
      ['s/lb1', 's/lb2', [{ cidr: '10.0.0.100/32', dev: 'ens33' }]],
      ['s/lb2', 's/lb1', [{ cidr: '10.0.0.100/32', dev: 'ens33' }]],
    ]);
    // Without a health check the table steps own the entries; keepalived only runs VRRP.
    expect(confOf(stack, 'lb1')).not.toContain('virtual_server');
    expect(topology.directors.map((d) => d.rules)).toEqual([topology.directors[0].rules, topology.directors[0].rules]);
  });

  it('a director joining a pair keeps its VIPs local while keepalived starts; the second director starts keepalived after the first', () => {
    const byName = new Map(resourcesOf(pairStack({ advertIntervalSeconds: 2 }, { vip: '10.0.0.100' })).map((r) => [r.name, r]));
    const host = byName.get('lb1_Host')!;
    // Copied to lo where the single director held it, before the old generation's teardown deletes it from ens33.
    expect(host.create).toMatch(/\nlvs_handover inet '10\.0\.0\.100\/32' 'ens33'\n(?:lvs_\w+_keep .*\n)*lvs_begin teardown\n/);
    expect(host.createBeforeDestroy).toBe(true);
    const up = byName.get('lb1_Keepalived')!.files['/var/lib/lvs-cdktf/s-lb1-keepalived/up.sh'];
    // Dropped once keepalived holds it: within four intervals and start-up.
    expect(up).toContain("vrrp_addresses=$(cat <<'LVS_KEEPALIVED'\ninet 10.0.0.100/32 ens33\nLVS_KEEPALIVED\n)");
    expect(up.indexOf("lvs_handover_release '/var/lib/lvs-cdktf/s-lb1' 13 \"$vrrp_addresses\"")).toBeGreaterThan(up.indexOf('lvs_keepalived_up '));
    expect(byName.get('lb2_Keepalived')!.body.depends_on).toContain('terraform_data.lb1_Keepalived');
    expect(byName.get('lb1_Keepalived')!.body.depends_on).not.toContain('terraform_data.lb2_Keepalived');
  });

  it('a single director hands nothing over', () => {
    const { stack } = service('dr', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } });
    const byName = new Map(resourcesOf(stack).map((r) => [r.name, r]));
    expect(byName.get('lb_Host')!.create).not.toMatch(/^lvs_handover /m);
    expect(byName.get('lb_Keepalived')!.files['/var/lib/lvs-cdktf/s-lb-keepalived/up.sh']).not.toContain('lvs_handover_release');
  });

  it('carries IPv6 VIPs in the IPv4 instance, excluded from its advertisements and deprecated; keepalived -t accepts it; IPv6 VIPs alone fail at synth', () => {
    const dualStack = (vips: string[]) => {
      const stack = new TerraformStack(appWith(), 's');
      const lb = (id: string, n: number) =>
        new LvsDirector(stack, id, { connection: { host: id }, interfaces: [{ name: 'ens33', address: `2001:db8::${n}/64` }, { name: 'ens33', address: `10.0.0.${n}/24` }] });
      const [d1, d2] = [lb('lb1', 10), lb('lb2', 9)];
      const services = vips.map((vip, i) => d1.addService(`svc${i}`, { vip, healthCheck: { type: 'tcp' } }));
      new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51 });
      const web = new DrRealServer(stack, 'web1', { connection: { host: 'web1' }, dataInterface: { name: 'ens33', address: '10.0.0.11/24', ipv6Address: '2001:db8::11/64' } });
      for (const svc of services) svc.addRealServer(web);
      return stack;
    };
    const both = confOf(dualStack(['10.0.0.100', '2001:db8::100']), 'lb2');
    // Unicast goes to the peer's IPv4 address, though its first address on ens33 is IPv6.
    expect(both).toContain('  unicast_src_ip 10.0.0.9\n  unicast_peer {\n    10.0.0.10\n  }\n');
    expect(both).toContain('  virtual_ipaddress {\n    10.0.0.100/32 dev ens33\n  }\n  virtual_ipaddress_excluded {\n    2001:db8::100/128 dev ens33 preferred_lft 0\n  }\n}\n');
    expect(configTest('pair-dual-stack', both, ['ens33'])).toEqual({ status: 0, output: '' });
    // keepalived -t refuses an instance without a VIP of its own family ("No VIP specified"): synth does first.
    expect(() => resourcesOf(dualStack(['2001:db8::100']))).toThrow("s/pair: directors: s/lb1's VIPs are all IPv6; a pair's VRRP instance is IPv4 and carries IPv6 VIPs beside an IPv4 one: give it a service with an IPv4 VIP");
    const up = resourcesOf(dualStack(['10.0.0.100', '2001:db8::100'])).find((r) => r.name === 'lb1_Keepalived')!.files['/var/lib/lvs-cdktf/s-lb1-keepalived/up.sh'];
    expect(up).toContain("vrrp_addresses=$(cat <<'LVS_KEEPALIVED'\ninet 10.0.0.100/32 ens33\ninet6 2001:db8::100/128 ens33\nLVS_KEEPALIVED\n)");
  });

  const pairs: [string, Partial<LvsDirectorPairProps>][] = [
    ['defaults', {}],
    ['VRRPv3 at 0.2 s, preempt after 30 s, multicast', { vrrpVersion: 3, advertIntervalSeconds: 0.2, preempt: 30, unicast: false }],
    ['a password, preempting, no sync', { authPassword: 's3cret', preempt: true, syncConnections: false }],
  ];
  it.each(pairs)('keepalived -t accepts both sides: %s', (name, props) => {
    const stack = pairStack(props);
    for (const d of ['lb1', 'lb2']) expect(configTest(`pair-${name.replace(/\W+/g, '-')}-${d}`, confOf(stack, d), ['ens33'])).toEqual({ status: 0, output: '' });
  });

  it('a NAT pair also floats the real servers\' gateway on the inside interface, which it tracks; keepalived -t accepts it', () => {
    const stack = new TerraformStack(appWith(), 's');
    const lb = (id: string, n: number) =>
      new LvsDirector(stack, id, { connection: { host: id }, interfaces: [{ name: 'ens33', address: `10.0.0.${n}/24` }, { name: 'ens34', address: `10.1.0.${n}/24` }] });
    const [d1, d2] = [lb('lb1', 10), lb('lb2', 9)];
    new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51, gateway: '10.1.0.1/24' });
    const svc = d1.addService('svc', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } });
    svc.addRealServer(new NatRealServer(stack, 'web1', { connection: { host: 'web1' }, dataInterface: { name: 'eth0', address: '10.1.0.11/24' } }));
    const conf = confOf(stack, 'lb2');
    expect(conf).toContain('  track_interface {\n    ens34\n  }\n');
    expect(conf).toContain('  virtual_ipaddress {\n    10.0.0.100/32 dev ens33\n    10.1.0.1/24 dev ens34\n  }\n');
    expect(conf).toContain('  lb_kind NAT\n');
    // The server took the floating gateway as its own.
    const web1 = topologyOf(fullJson(stack), 's')!.realServers[0];
    expect(web1.gateway).toBe('10.1.0.1');
    expect(configTest('nat-pair', conf, ['ens33', 'ens34'])).toEqual({ status: 0, output: '' });
    // A director that was serving answers for the gateway too while keepalived starts; the servers move to it after both directors' Host steps.
    const byName = new Map(resourcesOf(stack).map((r) => [r.name, r]));
    expect(byName.get('lb1_Host')!.create).toMatch(/\nlvs_handover inet '10\.0\.0\.100\/32' 'ens33'\nlvs_handover_gateway '10\.1\.0\.1\/32'\n(?:lvs_\w+_keep .*\n)*lvs_begin teardown\n/);
    expect(byName.get('web1_Host')!.body.depends_on).toEqual(expect.arrayContaining(['terraform_data.lb1_Host', 'terraform_data.lb2_Host']));
  });

  it("conn_reuse_mode 'auto' is 2 from Linux 5.9 on a pair that syncs TUN connections, the kernel's elsewhere; an explicit 0 or 1 there is warned of", () => {
    const tunPair = (pair: Partial<LvsDirectorPairProps>, tunables?: { connReuseMode: 1 }) => {
      const stack = new TerraformStack(appWith(), 's');
      const lb = (id: string, n: number) => new LvsDirector(stack, id, { connection: { host: id }, interfaces: [{ name: 'eth0', address: `10.0.0.${n}/24` }], tunables });
      const [d1, d2] = [lb('lb1', 10), lb('lb2', 9)];
      new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51, ...pair });
      d1.addService('svc', { vip: '10.0.0.100', healthCheck: { type: 'tcp' } }).addRealServer(new TunRealServer(stack, 'web1', { connection: { host: 'web1' }, dataInterface: { name: 'eth0', address: '10.0.0.11/24' } }));
      return stack;
    };
    const reuse = (stack: TerraformStack) =>
      resourcesOf(stack)
        .filter((r) => /^lb\d_Host$/.test(r.name))
        .map((r) => /^lvs_conn_reuse_auto.*$/m.exec(Object.values(r.files).join('\n'))?.[0]);
    expect(reuse(tunPair({}))).toEqual(['lvs_conn_reuse_auto 2', 'lvs_conn_reuse_auto 2']);
    expect(reuse(tunPair({ syncConnections: false }))).toEqual(['lvs_conn_reuse_auto', 'lvs_conn_reuse_auto']);
    expect(reuse(pairStack())).toEqual(['lvs_conn_reuse_auto', 'lvs_conn_reuse_auto']);
    const explicit = tunPair({}, { connReuseMode: 1 });
    Testing.synth(explicit);
    const warnings = explicit.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => `${c.node.path}: ${m.data}`));
    expect(warnings).toEqual(
      ['s/lb1', 's/lb2'].map(
        (d) =>
          `${d}: tunables.connReuseMode 1: after a failover, a client reusing the port of a connection synchronised while the backup lacked its real server times out (the kernel drops the packets of a TUN entry without a destination); 2 or 'auto' reschedules it`,
      ),
    );
  });

  it('keepalived -t refuses an advertisement interface the host does not have', () => {
    const res = configTest('pair-no-interface', confOf(pairStack({ interface: 'ens99', unicast: false }), 'lb1'), ['ens33']);
    expect(res.status).not.toBe(0);
    expect(res.output).toMatch(/ens99/);
  });
});
