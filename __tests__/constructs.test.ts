import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import {
  DrRealServer,
  LvsDirector,
  LvsDirectorPair,
  NatRealServer,
  ResourceKind,
  RetiredRealServer,
  TunRealServer,
  TunnelProps,
} from '../lib';
import { topologyOf } from '../lib/topology';
import { appWith, fullJson, resourcesOf, stacks, synthJson } from './helpers';

function drCluster(kind?: ResourceKind) {
  const stack = new TerraformStack(appWith(kind), 'lib-test');
  const director = new LvsDirector(stack, 'lb', {
    connection: { host: 'lb.example.net', privateKeyPath: '/keys/id_ed25519' },
    interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
  });
  const service = director.addService('http', { vip: '192.168.115.110', port: 80, scheduler: 'wrr', persistence: { timeout: 120 } });
  const web1 = new DrRealServer(stack, 'web1', {
    connection: { host: '10.9.0.12', port: 2222, user: 'ops', privateKeyPath: '/keys/id_ed25519', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJv4y0EwOl9sJlxiNRiu4Za2tRzTnB0aJKU6Dt5RxE2x' },
    dataInterface: { name: 'ens33', address: '192.168.115.112/24' },
    webServer: { kind: 'httpd' },
  });
  const web2 = new DrRealServer(stack, 'web2', {
    connection: { host: '10.9.0.13', bastion: { host: 'jump.example.net', user: 'jump', privateKeyPath: '/keys/jump' } },
    dataInterface: { name: 'ens33', address: '192.168.115.113/24' },
  });
  service.addRealServer(web1, { weight: 3 });
  service.addRealServer(web2, { weight: 1, upperThreshold: 500, lowerThreshold: 100 });
  return { stack, director, service, web1, web2 };
}

describe('ordering', () => {
  it('the IPVS table runs after the director base and after every real server is prepared', () => {
    const { stack } = drCluster();
    const byName = Object.fromEntries(resourcesOf(stack).map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual(['lb_Host', 'lb_Services', 'web1_Host', 'web2_Host']);
    expect(byName.lb_Services.body.depends_on).toEqual(['terraform_data.lb_Host', 'terraform_data.web1_Host', 'terraform_data.web2_Host']);
    // Destroy follows the reverse of depends_on: the table goes before any real server's VIP.
    expect(byName.web1_Host.body.depends_on).toBeUndefined();
  });

  it('the table is replaced create-before-destroy so a change never leaves a gap', () => {
    const { stack } = drCluster();
    const table = resourcesOf(stack).find((r) => r.name === 'lb_Services')!;
    expect(table.body.lifecycle).toEqual({ create_before_destroy: true });
  });

  it('only a new generation replaces a resource; a new address or port updates it in place', () => {
    const { stack } = drCluster();
    const web1 = resourcesOf(stack).find((r) => r.name === 'web1_Host')!;
    expect(Object.keys(web1.body.triggers_replace).sort()).toEqual(['generation', 'owner']);
    expect(web1.attributes.port).toBe(2222);
  });
});

describe('destroy-time steps read only self', () => {
  it.each(Object.values(ResourceKind))('%s: connection and destroy provisioner reference nothing but self', (kind) => {
    const { stack } = drCluster(kind);
    for (const r of resourcesOf(stack)) {
      const refs = JSON.stringify([r.body.connection, r.body.provisioner[1]]).match(/\$\{[^}]*\}/g) ?? [];
      expect(refs.length).toBeGreaterThan(3);
      for (const ref of refs) expect(ref).toMatch(/^\$\{(file\()?self\.(input|triggers)\.[a-z_]+\)?\}$/);
      expect(r.body.provisioner[1]['remote-exec'].when).toBe('destroy');
    }
  });

  it('connections carry port, user, pinned host key, bastion and key paths', () => {
    const { stack } = drCluster();
    const r = Object.fromEntries(resourcesOf(stack).map((x) => [x.name, x]));
    expect(r.web1_Host.attributes).toMatchObject({ host: '10.9.0.12', port: 2222, user: 'ops', private_key_path: '/keys/id_ed25519', host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJv4y0EwOl9sJlxiNRiu4Za2tRzTnB0aJKU6Dt5RxE2x' });
    expect(r.web1_Host.body.connection).toMatchObject({ host_key: '${self.input.host_key}', private_key: '${file(self.input.private_key_path)}', agent: 'false' });
    expect(r.web2_Host.attributes).toMatchObject({ bastion_host: 'jump.example.net', bastion_port: 22, bastion_user: 'jump', bastion_private_key_path: '/keys/jump', user: 'root', port: 22 });
    expect(r.web2_Host.body.connection).toMatchObject({ agent: 'true', bastion_private_key: '${file(self.input.bastion_private_key_path)}' });
  });
});

describe('key paths', () => {
  /** private_key_path and bastion_private_key_path as they reach Terraform's state. */
  function keyPaths(privateKeyPath: string, bastionKey?: string) {
    const stack = new TerraformStack(appWith(), 's');
    new DrRealServer(stack, 'web', {
      connection: { host: 'web', privateKeyPath, bastion: { host: 'jump', privateKeyPath: bastionKey } },
      dataInterface: { name: 'eth0', address: '10.0.0.2/24' },
    });
    const { private_key_path, bastion_private_key_path } = resourcesOf(stack)[0].attributes;
    return [private_key_path, bastion_private_key_path];
  }

  it("relative ones are resolved against the app's working directory, not where Terraform runs", () => {
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'lvs-app-')));
    const dir = process.cwd();
    try {
      expect(keyPaths('keys/id_ed25519', '../jump/id')).toEqual([join(dir, 'keys/id_ed25519'), join(dir, '../jump/id')]);
      expect(keyPaths('./id')).toEqual([join(dir, 'id'), join(dir, 'id')]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('absolute ones and ~ (which Terraform expands) are kept', () => {
    expect(keyPaths('/keys/id', '~/.ssh/jump')).toEqual(['/keys/id', '~/.ssh/jump']);
    expect(keyPaths('~/.ssh/id')).toEqual(['~/.ssh/id', '~/.ssh/id']);
  });
});

describe('resource kind switch', () => {
  it('terraform_data by default, with no provider', () => {
    const json = synthJson(drCluster().stack);
    expect(Object.keys(json.resource)).toEqual(['terraform_data']);
    expect(json.provider).toBeUndefined();
  });

  it('null_resource from context, with the null provider and string triggers', () => {
    const { stack } = drCluster(ResourceKind.NULL_RESOURCE);
    const json = synthJson(stack);
    expect(Object.keys(json.resource)).toEqual(['null_resource']);
    expect(json.provider).toHaveProperty('null');
    expect(json.terraform.required_providers.null.source).toMatch(/^(hashicorp\/)?null$/);
    for (const r of resourcesOf(stack)) {
      for (const v of Object.values(r.body.triggers)) expect(typeof v).toBe('string');
      expect(r.body.connection.host).toBe('${self.triggers.host}');
    }
  });

  it('rejects an unknown kind naming the context key', () => {
    const app = Testing.app({ context: { 'lvs-cdktf:resourceKind': 'local_file' } });
    const stack = new TerraformStack(app, 's');
    expect(() => new DrRealServer(stack, 'web', { connection: { host: 'h' }, dataInterface: { name: 'eth0', address: '10.0.0.2/24' } })).toThrow(
      /s\/web\/Host: context "lvs-cdktf:resourceKind": expected one of terraform_data, null_resource/,
    );
  });
});

describe('director', () => {
  it('DR: VIP as an alias on the data interface, send_redirects=0, quiescent templates expire', () => {
    const { stack, director } = drCluster();
    const base = resourcesOf(stack).find((r) => r.name === 'lb_Host')!;
    const up = base.files['/var/lib/lvs-cdktf/lib-test-lb/up.sh'];
    expect(up).toContain("lvs_address_up 'ens33' inet '192.168.115.110/32' 'ens33:0'");
    expect(base.create).toContain('net.ipv4.conf.all.send_redirects = 0');
    expect(base.create).toContain('net.ipv4.conf.ens33.send_redirects = 0');
    expect(base.create).toContain('net.ipv4.vs.expire_quiescent_template = 1');
    expect(base.create).not.toContain('ip_forward');
    expect(base.create).toContain('command -v ipvsadm >/dev/null 2>&1 || lvs_install ipvsadm');
    expect(director.desiredRules).toEqual([
      '-A -t 192.168.115.110:80 -s wrr -p 120',
      '-a -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 3',
      '-a -t 192.168.115.110:80 -r 192.168.115.113:80 -g -w 1',
    ]);
  });

  it('TUN: ipip and ip_forward on the director, VIP on tunl0; NAT: no VIP when it is the director address', () => {
    const [nat, , tun] = stacks();
    const tunBase = resourcesOf(tun).find((r) => r.name === 'director_Host')!;
    expect(tunBase.create).toContain("modprobe -a 'ip_vs' 'ipip'");
    expect(tunBase.create).toContain('net.ipv4.ip_forward = 1');
    expect(tunBase.files['/var/lib/lvs-cdktf/tun-stack-director/up.sh']).toContain("lvs_address_up 'tunl0' inet '192.168.100.101/32'");
    const natBase = resourcesOf(nat).find((r) => r.name === 'director_Host')!;
    expect(natBase.create).toContain('net.ipv4.ip_forward = 1');
    expect(natBase.files['/var/lib/lvs-cdktf/nat-stack-director/up.sh']).not.toContain('lvs_address_up');
    expect(natBase.create).toContain("lvs_expect_address 'ens34' inet '192.168.116.111/24'");
  });

  it('NAT real servers take the director address on their subnet as gateway', () => {
    const stack = new TerraformStack(appWith(), 'nat');
    const d = new LvsDirector(stack, 'lb', {
      connection: { host: 'lb' },
      interfaces: [
        { name: 'ens33', address: '192.168.115.111/24' },
        { name: 'ens34', address: '192.168.116.111/24' },
      ],
    });
    const web = new NatRealServer(stack, 'web', { connection: { host: 'web' }, dataInterface: { name: 'ens33', address: '192.168.116.112/24' } });
    d.addService('http', { vip: '192.168.115.111', port: 80 }).addRealServer(web, { port: 8080 });
    expect(web.gateway).toBe('192.168.116.111');
    expect(d.desiredRules).toEqual(['-A -t 192.168.115.111:80 -s wlc', '-a -t 192.168.115.111:80 -r 192.168.116.112:8080 -m -w 1']);
  });

  it('TUN real servers may live on any routed subnet', () => {
    const stack = new TerraformStack(appWith(), 'tun');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '192.168.100.100/24' }] });
    const far = new TunRealServer(stack, 'far', { connection: { host: 'far' }, dataInterface: { name: 'eth0', address: '172.20.0.5/16' } });
    d.addService('http', { vip: '192.168.100.101' }).addRealServer(far);
    expect(far.vips).toEqual(['192.168.100.101']);
  });
});

describe('secrets', () => {
  it('the private key is referenced by path, never inlined', () => {
    const { stack } = drCluster();
    const out = Testing.synth(stack);
    expect(out).toContain('/keys/id_ed25519');
    expect(out).not.toMatch(/PRIVATE KEY/);
    expect(out).toContain('${file(self.input.private_key_path)}');
  });
});

describe('RetiredRealServer', () => {
  it('emits a removed block whose destroy provisioner runs the recorded cleanup', () => {
    for (const kind of Object.values(ResourceKind)) {
      const stack = new TerraformStack(appWith(kind), 'retire');
      const r = new RetiredRealServer(stack, 'web3', { connection: { host: '10.0.0.3', privateKeyPath: '/k' } });
      const json = synthJson(stack);
      const root = kind === ResourceKind.TERRAFORM_DATA ? 'input' : 'triggers';
      expect(r.address).toBe(`${kind}.web3_Host`);
      expect(json.removed).toEqual([
        {
          from: `${kind}.web3_Host`,
          lifecycle: { destroy: true },
          connection: expect.objectContaining({ host: `\${self.${root}.host}`, private_key: `\${file(self.${root}.private_key_path)}` }),
          provisioner: [{ 'remote-exec': { when: 'destroy', inline: [`\${self.${root}.destroy_script}`] } }],
        },
      ]);
    }
  });

  it('addresses the same resource the real server had', () => {
    const [nat] = stacks();
    expect(resourcesOf(nat).map((r) => r.name)).toContain('web2_Host');
    const [retired] = stacks({ stacks: { 'nat-stack': { realServers: [
      { name: 'web1', connection: { host: '192.168.116.112' }, interface: { name: 'ens33', address: '192.168.116.112/24' } },
      { name: 'web2', connection: { host: '192.168.116.113' }, interface: { name: 'ens33', address: '192.168.116.113/24' }, retired: true },
    ] } } });
    const json = synthJson(retired);
    expect(json.removed[0].from).toBe('terraform_data.web2_Host');
    expect(Object.keys(json.resource.terraform_data)).not.toContain('web2_Host');
    expect(json.resource.terraform_data.director_Services.depends_on).not.toContain('terraform_data.web2_Host');
  });
});

describe('topology metadata', () => {
  it('records directors, services, real servers and retired servers under "//" for review and verification', () => {
    const { stack } = drCluster();
    new RetiredRealServer(stack, 'web9', { connection: { host: '10.9.0.19' } });
    const topo = topologyOf(fullJson(stack), 'lib-test')!;
    expect(topo.version).toBe(1);
    expect(topo.directors).toHaveLength(1);
    expect(topo.directors[0]).toMatchObject({
      path: 'lib-test/lb',
      connection: { host: 'lb.example.net', port: 22, user: 'root' },
      resources: { host: 'terraform_data.lb_Host', services: 'terraform_data.lb_Services' },
      rules: ['-A -t 192.168.115.110:80 -s wrr -p 120', '-a -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 3', '-a -t 192.168.115.110:80 -r 192.168.115.113:80 -g -w 1'],
    });
    expect(topo.directors[0].services[0].realServers[1]).toEqual({
      server: 'lib-test/web2', address: '192.168.115.113', port: 80, forwarding: 'dr', weight: 1, upperThreshold: 500, lowerThreshold: 100,
    });
    expect(topo.realServers.map((r) => [r.path, r.resource, r.vips])).toEqual([
      ['lib-test/web1', 'terraform_data.web1_Host', ['192.168.115.110']],
      ['lib-test/web2', 'terraform_data.web2_Host', ['192.168.115.110']],
    ]);
    expect(topo.retired).toEqual([{ path: 'lib-test/web9', resource: 'terraform_data.web9_Host' }]);
  });

  it('is one JSON string, and synth output holding it as an object (older commits) still reads', () => {
    const { stack } = drCluster();
    const json = fullJson(stack);
    const recorded = json['//']['lvs-cdktf'];
    expect(typeof recorded).toBe('string');
    expect(topologyOf({ '//': { 'lvs-cdktf': JSON.parse(recorded) } }, 'lib-test')).toEqual(topologyOf(json, 'lib-test'));
  });

  it('of a newer version than this code knows fails naming the stack; version 1 and older read', () => {
    const recorded = JSON.parse(fullJson(drCluster().stack)['//']['lvs-cdktf']);
    const withVersion = (version: number) => ({ '//': { 'lvs-cdktf': JSON.stringify({ ...recorded, version }) } });
    expect(() => topologyOf(withVersion(2), 'nat-stack')).toThrow(
      new Error('nat-stack: cdk.tf.json records topology version 2; this lvs-cdktf reads up to 1: upgrade'),
    );
    expect(() => topologyOf({ '//': { 'lvs-cdktf': { ...recorded, version: 3 } } }, 'nat-stack')).toThrow(/records topology version 3;/);
    expect(topologyOf(withVersion(1), 'nat-stack')).toEqual(recorded);
    expect(topologyOf(withVersion(0), 'nat-stack')?.directors).toEqual(recorded.directors);
    expect(topologyOf({}, 'nat-stack')).toBeUndefined();
  });
});

describe('a service served by two directors', () => {
  function pair() {
    const { stack, director, service, web1, web2 } = drCluster();
    const second = new LvsDirector(stack, 'lb2', {
      connection: { host: 'lb2.example.net' },
      interfaces: [{ name: 'ens33', address: '192.168.115.114/24' }],
    });
    second.serve(service);
    return { stack, director, second, service, web1, web2 };
  }

  it('keeps the same entries in both tables, each after every real server', () => {
    const { stack, director, second, service, web1 } = pair();
    expect(second.desiredRules).toEqual(director.desiredRules);
    expect(service.directors).toEqual([director, second]);
    expect(web1.vips).toEqual(['192.168.115.110']);
    const byName = Object.fromEntries(resourcesOf(stack).map((r) => [r.name, r]));
    expect(byName.lb2_Services.body.depends_on).toEqual(['terraform_data.lb2_Host', 'terraform_data.web1_Host', 'terraform_data.web2_Host']);
    expect(byName.lb2_Host.files['/var/lib/lvs-cdktf/lib-test-lb2/up.sh']).toContain("lvs_address_up 'ens33' inet '192.168.115.110/32' 'ens33:0'");
    const topology = topologyOf(fullJson(stack), 'lib-test')!;
    expect(topology.directors.map((d) => d.services.map((s) => s.path))).toEqual([['lib-test/lb/http'], ['lib-test/lb/http']]);
  });

  it('a real server added later reaches both tables and is checked against both directors', () => {
    const { stack, second, service } = pair();
    const web3 = new DrRealServer(stack, 'web3', { connection: { host: '10.9.0.14' }, dataInterface: { name: 'ens33', address: '192.168.115.115/24' } });
    service.addRealServer(web3);
    expect(second.desiredRules).toContain('-a -t 192.168.115.110:80 -r 192.168.115.115:80 -g -w 1');
    const far = new DrRealServer(stack, 'far', { connection: { host: '10.9.0.15' }, dataInterface: { name: 'ens33', address: '10.1.0.5/24' } });
    expect(() => service.addRealServer(far)).toThrow('lib-test/far: realServers[far]: DR forwards by MAC on one segment, but the director has no address on the subnet of 10.1.0.5/24');
  });

  it('refuses a second director for a NAT service and a director serving a service twice', () => {
    const [nat] = stacks();
    const other = new LvsDirector(nat, 'other', { connection: { host: '10.0.0.9' }, interfaces: [{ name: 'ens34', address: '192.168.116.120/24' }] });
    expect(() => other.serve(nat.service)).toThrow('nat-stack/director/web: directors: a NAT service has one director, or a pair: its real servers route replies through it');
    const { second, service: dr } = pair();
    expect(() => second.serve(dr)).toThrow(`lib-test/lb/http: directors: lib-test/lb2 serves this service already`);
  });
});

describe('whole-tree checks and advice', () => {
  const warnings = (stack: TerraformStack) =>
    stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => `${c.node.path}: ${m.data}`));

  it('two directors each declaring the same service fail at synth, naming serve()', () => {
    const { stack } = drCluster();
    const lb2 = new LvsDirector(stack, 'lb2', { connection: { host: 'lb2.example.net' }, interfaces: [{ name: 'ens33', address: '192.168.115.114/24' }] });
    lb2.addService('http', { vip: '192.168.115.110', port: 80 });
    expect(() => Testing.synth(stack, true)).toThrow(
      '[lib-test/lb] services: 192.168.115.110:80 is also declared by lib-test/lb2 (lib-test/lb2/http); to serve one service from two directors, declare it once and call serve() on the other',
    );
  });

  it('warn of a director without services, a service without real servers and a real server in no service', () => {
    const stack = new TerraformStack(appWith(), 'advice');
    new LvsDirector(stack, 'idle', { connection: { host: '10.0.0.1' }, interfaces: [{ name: 'ens33', address: '10.0.0.1/24' }] });
    const lb = new LvsDirector(stack, 'lb', { connection: { host: '10.0.0.2' }, interfaces: [{ name: 'ens33', address: '10.0.0.2/24' }] });
    lb.addService('empty', { vip: '10.0.0.10' });
    new DrRealServer(stack, 'spare', { connection: { host: '10.0.0.3' }, dataInterface: { name: 'ens33', address: '10.0.0.3/24' } });
    Testing.synth(stack);
    expect(warnings(stack).sort()).toEqual([
      'advice/idle: declares no service: its host is prepared, but it balances nothing',
      'advice/lb/empty: 10.0.0.10:80 has no real server: the director accepts its clients and has nowhere to send them',
      'advice/spare: is in no service: its host is configured, but no director sends it traffic',
    ]);
    expect(stacks().flatMap(warnings)).toEqual([]);
  });
});

describe('a sorry server', () => {
  /** drCluster's service (weights 3 and 1) with a health check, and a third DR server to be its sorry server. */
  const checked = () => {
    const stack = new TerraformStack(appWith(), 'sorry-test');
    const director = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }] });
    const service = director.addService('http', { vip: '192.168.115.110', healthCheck: { type: 'tcp' } });
    const server = (id: string, n: number) => new DrRealServer(stack, id, { connection: { host: id }, dataInterface: { name: 'ens33', address: `192.168.115.${n}/24` } });
    return { stack, director, service, server };
  };

  it('keeps the passing real servers it replaces in the table at weight 0 (inhibit_on_failure), unless the check says otherwise', () => {
    const { service, server } = checked();
    expect(service.healthCheck?.inhibitOnFailure).toBe(false);
    service.addRealServer(server('web1', 112));
    service.setSorryServer(server('sorry', 120));
    expect(service.healthCheck?.inhibitOnFailure).toBe(true);
    expect(service._entry().healthCheck?.inhibitOnFailure).toBe(true);

    const stack = new TerraformStack(appWith(), 'chosen');
    const director = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }] });
    const chosen = director.addService('http', { vip: '192.168.115.110', healthCheck: { type: 'tcp', inhibitOnFailure: false } });
    chosen.setSorryServer(new DrRealServer(stack, 'sorry', { connection: { host: 'sorry' }, dataInterface: { name: 'ens33', address: '192.168.115.120/24' } }));
    expect(chosen.healthCheck?.inhibitOnFailure).toBe(false);
  });

  it('is prepared like a real server and in the table at weight 0 (keepalived gives it 1 when it serves), its host before the Keepalived step', () => {
    const { stack, director, service, server } = checked();
    service.addRealServer(server('web1', 112), { weight: 2 });
    const sorry = server('sorry', 120);
    service.setSorryServer(sorry, { quorum: 2, hysteresis: 1 });
    expect(service.sorryServer).toBe(sorry);
    expect(service.realServers.map((r) => r.node.id)).toEqual(['web1']);
    expect(service._entry().sorry).toEqual({ realServer: expect.objectContaining({ server: 'sorry-test/sorry', address: '192.168.115.120', port: 80, forwarding: 'dr', weight: 0 }), quorum: 2, hysteresis: 1 });
    expect(director.desiredRules).toEqual(['-A -t 192.168.115.110:80 -s wlc', '-a -t 192.168.115.110:80 -r 192.168.115.112:80 -g -w 2', '-a -t 192.168.115.110:80 -r 192.168.115.120:80 -g -w 0']);
    const byName = Object.fromEntries(resourcesOf(stack).map((r) => [r.name, r]));
    expect(byName.lb_Keepalived.body.depends_on).toContain('terraform_data.sorry_Host');
    // A DR sorry server holds the VIP on lo and keeps quiet about it on ARP, as a real server does.
    const topology = topologyOf(fullJson(stack), 'sorry-test')!;
    expect(topology.realServers.find((r) => r.path === 'sorry-test/sorry')?.vips).toEqual(['192.168.115.110']);
    expect(topology.directors[0].services[0].sorry?.quorum).toBe(2);
  });

  it('fails before anything touches a host: without a health check, twice, a real server again, another method, hysteresis at the quorum', () => {
    const plain = new LvsDirector(new TerraformStack(appWith(), 'p'), 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }] }).addService('http', { vip: '192.168.115.110' });
    const { stack, service, server } = checked();
    expect(() => plain.setSorryServer(server('x', 119))).toThrow('p/lb/http: sorryServer: needs a healthCheck: keepalived adds the sorry server when the checks fail');
    const web1 = server('web1', 112);
    service.addRealServer(web1);
    expect(() => service.setSorryServer(web1)).toThrow('sorry-test/lb/http: sorryServer: 192.168.115.112:80 is already a real server of this service');
    const nat = new NatRealServer(stack, 'nat', { connection: { host: 'nat' }, dataInterface: { name: 'ens33', address: '192.168.115.121/24' } });
    expect(() => service.setSorryServer(nat)).toThrow('sorry-test/lb/http: sorryServer: a service uses one forwarding method; it has DR, this server is NAT');
    expect(() => service.setSorryServer(server('s1', 120), { quorum: 2, hysteresis: 2 })).toThrow('sorry-test/lb/http: sorryServer.hysteresis: 2 must be below the quorum 2');
    expect(() => service.setSorryServer(server('s2', 122), { quorum: 0 })).toThrow(/^sorry-test\/lb\/http: sorryServer\.quorum: /);
    service.setSorryServer(server('s3', 123));
    expect(() => service.setSorryServer(server('s4', 124))).toThrow('sorry-test/lb/http: sorryServer: is sorry-test/s3 already; a service has one');
    expect(() => service.addRealServer(server('s5', 123))).toThrow('192.168.115.123:80 is already the sorry server of this service');
  });

  it('keepalived refuses a checked service whose real servers weigh less than its quorum: synth fails, naming the field', () => {
    const none = checked();
    expect(() => Testing.synth(none.stack, true)).toThrow('[sorry-test/lb/http] realServers: keepalived needs real servers whose weights add up to at least 1 (it refuses the configuration otherwise); this health-checked service has none');
    const drained = checked();
    drained.service.addRealServer(drained.server('web1', 112), { weight: 0 });
    expect(() => Testing.synth(drained.stack, true)).toThrow('this health-checked service has real servers weighing 0 in all');
    const short = checked();
    short.service.addRealServer(short.server('web1', 112), { weight: 2 });
    short.service.setSorryServer(short.server('sorry', 120), { quorum: 3 });
    expect(() => Testing.synth(short.stack, true)).toThrow('[sorry-test/lb/http] sorryServer.quorum: keepalived needs real servers whose weights add up to at least the quorum 3');
  });
});

describe('IPVS tunables', () => {
  const director = (tunables?: object) => {
    const stack = new TerraformStack(appWith(), 'tun');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }], tunables: tunables as never });
    d.addService('http', { vip: '10.0.0.100' });
    return { stack, d };
  };
  /** The director's Host step, its create script without the shared library. */
  const base = (stack: TerraformStack) => {
    const step = resourcesOf(stack).find((r) => r.name === 'lb_Host')!;
    return { ...step, create: step.create.replace(step.library ?? '', '') };
  };

  it('by default: expire_nodest_conn and expire_quiescent_template on, conn_reuse_mode decided on the host, timeouts and table size the kernel’s', () => {
    const b = base(director().stack);
    const up = b.files['/var/lib/lvs-cdktf/tun-lb/up.sh'];
    expect(b.create).toContain('net.ipv4.vs.expire_nodest_conn = 1\nnet.ipv4.vs.expire_quiescent_template = 1\n');
    expect(b.create).not.toMatch(/sloppy_tcp|vs\.conntrack|conn_reuse_mode =|ipvsadm --set|modprobe\.d/);
    expect(b.create).toMatch(/lvs_sysctl_record [^\n]*'net\.ipv4\.vs\.conn_reuse_mode'\n/);
    expect(up.indexOf("sysctl -q -p '/etc/sysctl.d/90-lvs-cdktf-tun-lb.conf'")).toBeLessThan(up.indexOf('lvs_conn_reuse_auto'));
  });

  it('typed settings reach the drop-in, ipvsadm --set and modprobe.d (written before ip_vs is loaded); down restores each', () => {
    const b = base(
      director({ expireNodestConn: false, sloppyTcp: true, conntrack: true, connReuseMode: 2, tcpFinTimeout: 7, udpTimeout: 30, connTableBits: 10 }).stack,
    );
    const up = b.files['/var/lib/lvs-cdktf/tun-lb/up.sh'];
    const down = b.files['/var/lib/lvs-cdktf/tun-lb/down.sh'];
    for (const line of ['net.ipv4.vs.expire_nodest_conn = 0', 'net.ipv4.vs.sloppy_tcp = 1', 'net.ipv4.vs.conntrack = 1', 'net.ipv4.vs.conn_reuse_mode = 2']) {
      expect(b.create).toContain(`${line}\n`);
    }
    expect(up).not.toContain('lvs_conn_reuse_auto');
    expect(up.indexOf("sysctl -q -p")).toBeLessThan(up.indexOf('ipvsadm --set 0 7 30'));
    expect(b.create.indexOf("lvs_write '/etc/modprobe.d/lvs-cdktf-tun-lb.conf' 0644 <<'LVS_CDKTF_EOF'\noptions ip_vs conn_tab_bits=10\n")).toBeGreaterThan(0);
    // The last modprobe is the create step's own (up.sh, written before it, has one too).
    expect(b.create.indexOf('/etc/modprobe.d/lvs-cdktf-tun-lb.conf')).toBeLessThan(b.create.lastIndexOf("modprobe -a 'ip_vs'"));
    expect(b.create).toContain("lvs_module_param_check 'ip_vs' 'conn_tab_bits' 10");
    expect(b.create).toContain('lvs_ipvs_timeouts_record');
    expect(down.trim().split('\n').slice(-3)).toEqual(['lvs_sysctl_restore \'/etc/sysctl.d/90-lvs-cdktf-tun-lb.conf\'', "rm -f '/etc/modules-load.d/lvs-cdktf-tun-lb.conf'", "rm -f '/etc/modprobe.d/lvs-cdktf-tun-lb.conf'"]);
    expect(down.indexOf('lvs_ipvs_timeouts_restore')).toBeLessThan(down.indexOf('lvs_sysctl_restore'));
  });

  it.each([
    [{ tcpTimeout: 0 }, 'tunables.tcpTimeout: expected an integer from 1 to 2147483, got 0'],
    [{ udpTimeout: 2147484 }, 'tunables.udpTimeout: expected an integer from 1 to 2147483, got 2147484'],
    [{ connTableBits: 21 }, 'tunables.connTableBits: expected an integer from 8 to 20, got 21'],
    [{ connReuseMode: 3 }, "tunables.connReuseMode: expected 'auto', 0, 1 or 2, got 3"],
    [{ sloppyTcp: 'yes' }, 'tunables.sloppyTcp: expected true or false, got "yes"'],
    [{ expireNodestConn: 1 }, 'tunables.expireNodestConn: expected true or false, got 1'],
  ])('refuses %j at synth, naming the field', (tunables, message) => {
    expect(() => director(tunables)).toThrow(`tun/lb: ${message}`);
  });
});

describe('one-packet scheduling', () => {
  const director = () => {
    const stack = new TerraformStack(appWith(), 'ops');
    return new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
  };

  it('renders -o after the scheduler and persistence, as ipvsadm -Sn prints it', () => {
    const d = director();
    d.addService('dns', { vip: '10.0.0.53', port: 53, protocol: 'udp', scheduler: 'rr', onePacket: true, persistence: { timeout: 60, netmask: '255.255.255.0' } });
    expect(d.desiredRules).toEqual(['-A -u 10.0.0.53:53 -s rr -p 60 -M 255.255.255.0 -o']);
  });

  it('is refused for TCP, SCTP and firewall-mark services', () => {
    expect(() => director().addService('web', { vip: '10.0.0.80', onePacket: true })).toThrow('ops/lb/web: onePacket: one-packet scheduling is for UDP services; this one is tcp');
    expect(() => director().addService('m', { fwmark: 3, onePacket: true })).toThrow('ops/lb/m: onePacket: one-packet scheduling is for UDP services; this one is a firewall-mark service');
    expect(() => director().addService('u', { vip: '10.0.0.53', protocol: 'udp', onePacket: 'yes' as never })).toThrow('ops/lb/u: onePacket: expected true or false, got "yes"');
  });
});

describe('marking rules of a firewall-mark service', () => {
  const cluster = (markRules: unknown, vip: string | null = '10.0.0.70') => {
    const stack = new TerraformStack(appWith(), 'fw');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    const s = d.addService('web', { fwmark: 7, vip: vip ?? undefined, scheduler: 'rr', markRules: markRules as never });
    s.addRealServer(new DrRealServer(stack, 'web1', { connection: { host: 'w1' }, dataInterface: { name: 'eth0', address: '10.0.0.11/24' } }));
    return { stack, d };
  };

  it('mark each port and range for the VIP in the table step; the director loads what iptables needs', () => {
    const { stack, d } = cluster([{ ports: [80, 443] }, { protocol: 'udp', ports: ['8000-8100'] }]);
    const steps = resourcesOf(stack);
    const table = steps.find((r) => r.name === 'lb_Services')!.create;
    expect(table).toContain(
      [
        '-d 10.0.0.70/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x7/0xffffffff',
        '-d 10.0.0.70/32 -p tcp -m tcp --dport 443 -j MARK --set-xmark 0x7/0xffffffff',
        '-d 10.0.0.70/32 -p udp -m udp --dport 8000:8100 -j MARK --set-xmark 0x7/0xffffffff',
      ].join('\n'),
    );
    expect(table).toMatch(/lvs_chain_up iptables PREROUTING 'LVS-CDKTF-[0-9a-f]{8}' /);
    expect(table.lastIndexOf('lvs_table_up')).toBeLessThan(table.lastIndexOf('lvs_chain_up'));
    expect(steps.find((r) => r.name === 'lb_Host')!.create).toContain("modprobe -a 'ip_vs' 'iptable_mangle' 'xt_mark' 'xt_tcpudp'");
    expect(d.desiredRules).toEqual(['-A -f 7 -s rr', '-a -f 7 -r 10.0.0.11:0 -g -w 1']);
  });

  it('without marking rules, the table step only removes a chain an earlier generation left', () => {
    const stack = new TerraformStack(appWith(), 'plain');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    d.addService('web', { vip: '10.0.0.70' });
    const table = resourcesOf(stack).find((r) => r.name === 'lb_Services')!;
    expect(table.create.replace(table.library ?? '', '')).toMatch(/lvs_chain_down iptables PREROUTING 'LVS-CDKTF-[0-9a-f]{8}'\n/);
    expect(table.create.replace(table.library ?? '', '')).not.toContain('lvs_chain_up');
  });

  it.each([
    [[{ ports: [80] }], null, 'fw/lb/web: vip: is required for marking rules: they select traffic to the VIP'],
    [[], '10.0.0.70', 'fw/lb/web: markRules: expected a non-empty list, got []'],
    [[{ ports: [] }], '10.0.0.70', 'fw/lb/web: markRules[0].ports: expected a non-empty list of ports and ranges, got []'],
    [[{ ports: ['90-80'] }], '10.0.0.70', 'fw/lb/web: markRules[0].ports[0]: range 90-80 is empty or backwards'],
    [[{ ports: ['80:90'] }], '10.0.0.70', `fw/lb/web: markRules[0].ports[0]: expected a port or a range such as '8000-8100', got "80:90"`],
    [[{ ports: [70000] }], '10.0.0.70', 'fw/lb/web: markRules[0].ports[0]: '],
    [[{ protocol: 'icmp', ports: [1] }], '10.0.0.70', 'fw/lb/web: markRules[0].protocol: expected one of tcp, udp, sctp, got "icmp"'],
  ])('refuses %j (vip %s) at synth', (rules, vip, message) => {
    expect(() => cluster(rules, vip)).toThrow(message);
  });

  it('belong to firewall-mark services only', () => {
    const stack = new TerraformStack(appWith(), 'addr');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    expect(() => d.addService('web', { vip: '10.0.0.70', markRules: [{ ports: [80] }] })).toThrow('addr/lb/web: markRules: only a firewall-mark service (fwmark) has marking rules');
  });
});

describe('TUN tunnel types', () => {
  const cluster = () => {
    const stack = new TerraformStack(appWith(), 'tunnels');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: '10.0.0.1/24' }] });
    const s = d.addService('web', { vip: '10.0.0.100', scheduler: 'rr' });
    const server = (id: string, n: number, tunnel?: object) => {
      const r = new TunRealServer(stack, id, { connection: { host: id }, dataInterface: { name: 'eth0', address: `10.0.0.${n}/24` }, tunnel: tunnel as never });
      s.addRealServer(r);
      return r;
    };
    server('ipip', 11);
    server('gue', 12, { type: 'gue', port: 5555 });
    server('gre', 13, { type: 'gre' });
    return { stack, d };
  };

  it('entries carry their tunnel type, given as ipvsadm 1.31 takes it and compared as ipvsadm -Sn prints it', () => {
    const { stack, d } = cluster();
    expect(d.desiredRules.slice(1)).toEqual([
      '-a -t 10.0.0.100:80 -r 10.0.0.11:80 -i -w 1 --tun-type ipip',
      '-a -t 10.0.0.100:80 -r 10.0.0.12:80 -i -w 1 --tun-type gue --tun-port 5555 --tun-nocsum',
      '-a -t 10.0.0.100:80 -r 10.0.0.13:80 -i -w 1 --tun-type gre --tun-nocsum',
    ]);
    const table = resourcesOf(stack).find((r) => r.name === 'lb_Services')!.create;
    expect(table).toContain('-a -t 10.0.0.100:80 -r 10.0.0.11:80 -i -w 1\n-a -t 10.0.0.100:80 -r 10.0.0.12:80 -i -w 1 --tun-type gue --tun-port 5555\n-a -t 10.0.0.100:80 -r 10.0.0.13:80 -i -w 1 --tun-type gre\n');
  });

  it('the real server decapsulates: fou port for GUE (VIP on tunl0), gre0 for GRE', () => {
    const { stack } = cluster();
    const host = (id: string) => resourcesOf(stack).find((r) => r.name === `${id}_Host`)!;
    const gue = host('gue');
    expect(gue.create).toContain("modprobe -a 'ipip' 'fou'");
    expect(gue.files['/var/lib/lvs-cdktf/tunnels-gue/up.sh']).toContain("lvs_fou_up 5555\nip link set dev 'tunl0' up\nlvs_address_up 'tunl0' inet '10.0.0.100/32'");
    expect(gue.files['/var/lib/lvs-cdktf/tunnels-gue/down.sh']).toContain('lvs_fou_restore 5555');
    const gre = host('gre');
    expect(gre.create).toContain("modprobe -a 'ip_gre'");
    expect(gre.create).toContain('net.ipv4.conf.gre0.rp_filter = 0');
    expect(gre.files['/var/lib/lvs-cdktf/tunnels-gre/up.sh']).toContain("ip link set dev 'gre0' up\nlvs_address_up 'gre0' inet '10.0.0.100/32'");
    expect(gre.create.replace(gre.library ?? '', '')).not.toContain('tunl0');
  });

  it('an MSS clamp rewrites SYN-ACKs from each VIP per family, auto from the MTU less headers and encapsulation; destroy removes it', () => {
    const stack = new TerraformStack(appWith(), 'mss');
    const d = new LvsDirector(stack, 'lb', {
      connection: { host: 'lb' },
      interfaces: [
        { name: 'eth0', address: '10.0.0.1/24' },
        { name: 'eth0', address: 'fd00::1/64' },
      ],
    });
    const server = (id: string, n: number, tunnel: TunnelProps) =>
      new TunRealServer(stack, id, { connection: { host: id }, dataInterface: { name: 'eth0', address: `10.0.0.${n}/24`, ipv6Address: `fd00::${n}/64` }, tunnel });
    const gue = server('gue', 2, { type: 'gue', mss: 'auto' });
    const fixed = server('fixed', 3, { mss: 1400 });
    const plain = server('plain', 4, {});
    for (const vip of ['10.0.0.100', 'fd00::100']) {
      const s = d.addService(vip.includes(':') ? 'v6' : 'v4', { vip });
      if (vip.includes(':')) [fixed, plain].forEach((r) => s.addRealServer(r));
      else [gue, fixed, plain].forEach((r) => s.addRealServer(r));
    }
    const host = (id: string) => resourcesOf(stack).find((r) => r.name === `${id}_Host`)!;
    const up = (id: string) => host(id).files[`/var/lib/lvs-cdktf/mss-${id}/up.sh`];
    const rule = (vip: string) => `-s ${vip}${vip.includes(':') ? '/128' : '/32'} -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss $mss`;
    expect(up('gue')).toMatch(new RegExp(`mss=\\$\\(lvs_mtu_less 'eth0' 72\\)\nlvs_chain_up iptables OUTPUT 'LVS-CDKTF-[0-9a-f]{8}' "${rule('10.0.0.100').replace(/\$/g, '\\$')}"`));
    expect(up('gue')).not.toContain('ip6tables');
    expect(up('fixed')).toContain(`mss=1400\nlvs_chain_up iptables OUTPUT`);
    expect(up('fixed')).toContain(`mss=1400\nlvs_chain_up ip6tables OUTPUT`);
    expect(up('fixed')).toContain(rule('fd00::100'));
    expect(host('fixed').create).toContain("'iptable_mangle' 'ip6table_mangle' 'xt_TCPMSS' 'xt_tcpudp'");
    expect(host('fixed').files['/var/lib/lvs-cdktf/mss-fixed/down.sh']).toMatch(/lvs_chain_down ip6tables OUTPUT 'LVS-CDKTF-[0-9a-f]{8}'/);
    expect(up('plain')).not.toContain('lvs_chain');
  });

  it.each([
    [{ mss: 500 }, 'tunnel.mss: '],
    [{ mss: 'max' }, 'tunnel.mss: '],
    [{ type: 'vxlan' }, 'tunnel.type: expected one of ipip, gue, gre, got "vxlan"'],
    [{ type: 'gre', port: 5555 }, 'tunnel.port: only a GUE tunnel has a port; this one is gre'],
    [{ type: 'gue', port: 0 }, 'tunnel.port: '],
  ])('refuses %j at synth', (tunnel, message) => {
    const stack = new TerraformStack(appWith(), 't');
    expect(() => new TunRealServer(stack, 'w', { connection: { host: 'w' }, dataInterface: { name: 'eth0', address: '10.0.0.2/24' }, tunnel: tunnel as never })).toThrow(`t/w: ${message}`);
  });
});

describe('dual stack and IPv6', () => {
  function dualStack() {
    const stack = new TerraformStack(appWith(), 'dual');
    const director = new LvsDirector(stack, 'lb', {
      connection: { host: 'lb' },
      interfaces: [
        { name: 'ens33', address: '192.168.115.111/24' },
        { name: 'ens33', address: 'fd00:115::111/64' },
      ],
    });
    const web = new DrRealServer(stack, 'web', {
      connection: { host: 'web' },
      dataInterface: { name: 'ens33', address: '192.168.115.112/24', ipv6Address: 'fd00:115::112/64' },
    });
    director.addService('v4', { vip: '192.168.115.170' }).addRealServer(web);
    director.addService('v6', { vip: 'fd00:115::170' }).addRealServer(web);
    return { stack, director, web };
  }

  it('one DR construct serves an IPv4 and an IPv6 service, each with the RIP of its family, and sets the ARP settings once', () => {
    const { stack, director, web } = dualStack();
    expect(director.desiredRules).toEqual([
      '-A -t 192.168.115.170:80 -s wlc',
      '-a -t 192.168.115.170:80 -r 192.168.115.112:80 -g -w 1',
      '-A -t [fd00:115::170]:80 -s wlc',
      '-a -t [fd00:115::170]:80 -r [fd00:115::112]:80 -g -w 1',
    ]);
    expect(web.vips).toEqual(['192.168.115.170', 'fd00:115::170']);
    const host = resourcesOf(stack).find((r) => r.name === 'web_Host')!;
    expect(host.create.match(/net\.ipv4\.conf\.all\.arp_ignore = 1/g)).toHaveLength(1);
    const up = host.files['/var/lib/lvs-cdktf/dual-web/up.sh'];
    expect(up).toContain("lvs_address_up 'lo' inet '192.168.115.170/32' 'lo:0'");
    expect(up).toContain("lvs_address_up 'lo' inet6 'fd00:115::170/128'");
    const topo = topologyOf(fullJson(stack), 'dual')!;
    expect(topo.realServers[0].interface).toEqual({ name: 'ens33', address: '192.168.115.112/24', ipv6Address: 'fd00:115::112/64' });
  });

  it('a dual-stack NAT server routes each family through the director address on its subnet', () => {
    const stack = new TerraformStack(appWith(), 'nat6');
    const d = new LvsDirector(stack, 'lb', {
      connection: { host: 'lb' },
      interfaces: [
        { name: 'ens33', address: '192.168.115.111/24' },
        { name: 'ens33', address: 'fd00:115::111/64' },
        { name: 'ens34', address: '192.168.116.111/24' },
        { name: 'ens34', address: 'fd00:116::111/64' },
      ],
    });
    const web = new NatRealServer(stack, 'web', {
      connection: { host: 'web' },
      dataInterface: { name: 'ens33', address: '192.168.116.112/24', ipv6Address: 'fd00:116::112/64' },
    });
    d.addService('v4', { vip: '192.168.115.171' }).addRealServer(web);
    d.addService('v6', { vip: 'fd00:115::171' }).addRealServer(web);
    expect([web.gateway, web.ipv6Gateway]).toEqual(['192.168.116.111', 'fd00:116::111']);
    const host = resourcesOf(stack).find((r) => r.name === 'web_Host')!;
    const up = host.files['/var/lib/lvs-cdktf/nat6-web/up.sh'];
    expect(up).toContain("ip -4 route replace default via '192.168.116.111' dev 'ens33'");
    expect(up).toContain("ip -6 route replace default via 'fd00:116::111' dev 'ens33'");
    const base = resourcesOf(stack).find((r) => r.name === 'lb_Host')!;
    expect(base.create).toContain('net.ipv6.conf.all.forwarding = 1');
  });

  it("a pair refuses an IPv6 NAT service: its floating gateway is IPv4, so the real servers' IPv6 replies would not follow a failover", () => {
    const stack = new TerraformStack(appWith(), 'nat6pair');
    const lb = (id: string, n: number) =>
      new LvsDirector(stack, id, {
        connection: { host: id },
        interfaces: [
          { name: 'ens33', address: `192.168.115.${n}/24` },
          { name: 'ens33', address: `fd00:115::${n}/64` },
          { name: 'ens34', address: `192.168.116.${n}/24` },
          { name: 'ens34', address: `fd00:116::${n}/64` },
        ],
      });
    const [d1, d2] = [lb('lb1', 111), lb('lb2', 108)];
    new LvsDirectorPair(stack, 'pair', { directors: [d1, d2], virtualRouterId: 51, gateway: '192.168.116.100/24' });
    const web = new NatRealServer(stack, 'web', { connection: { host: 'web' }, dataInterface: { name: 'ens33', address: '192.168.116.112/24', ipv6Address: 'fd00:116::112/64' } });
    d1.addService('v4', { vip: '192.168.115.171' }).addRealServer(web);
    // Its IPv6 gateway is one director's own address, which the other does not have.
    expect(() => d1.addService('v6', { vip: 'fd00:115::171' }).addRealServer(web)).toThrow('nat6pair/web: ipv6Gateway: fd00:116::111 is not a director address on the subnet of fd00:116::112/64');
  });

  it('an IPv6 TUN service puts the VIP on ip6tnl0 of the real server and on the data interface of the director', () => {
    const stack = new TerraformStack(appWith(), 'tun6');
    const d = new LvsDirector(stack, 'lb', { connection: { host: 'lb' }, interfaces: [{ name: 'eth0', address: 'fd00:100::100/64' }] });
    const web = new TunRealServer(stack, 'web', { connection: { host: 'web' }, dataInterface: { name: 'eth0', address: 'fd00:100::1/64' } });
    d.addService('v6', { vip: 'fd00:100::150' }).addRealServer(web);
    const host = resourcesOf(stack).find((r) => r.name === 'web_Host')!;
    expect(host.create).toContain("modprobe -a 'ipip' 'ip6_tunnel'");
    expect(host.files['/var/lib/lvs-cdktf/tun6-web/up.sh']).toContain("lvs_address_up 'ip6tnl0' inet6 'fd00:100::150/128'");
    const base = resourcesOf(stack).find((r) => r.name === 'lb_Host')!;
    expect(base.files['/var/lib/lvs-cdktf/tun6-lb/up.sh']).toContain("lvs_address_up 'eth0' inet6 'fd00:100::150/128'");
    expect(d.desiredRules).toEqual(['-A -t [fd00:100::150]:80 -s wlc', '-a -t [fd00:100::150]:80 -r [fd00:100::1]:80 -i -w 1 --tun-type ipip']);
  });

  it('refuses a server without an address of the service family, a second IPv6 address, and GUE or GRE for IPv6', () => {
    const stack = new TerraformStack(appWith(), 'bad');
    const d = new LvsDirector(stack, 'lb', {
      connection: { host: 'lb' },
      interfaces: [
        { name: 'eth0', address: '192.168.100.100/24' },
        { name: 'eth0', address: 'fd00:100::100/64' },
      ],
    });
    const v4only = new TunRealServer(stack, 'v4only', { connection: { host: 'a' }, dataInterface: { name: 'eth0', address: '192.168.100.1/24' } });
    const v6 = d.addService('v6', { vip: 'fd00:100::150' });
    expect(() => v6.addRealServer(v4only)).toThrow(
      'bad/lb/v6: realServers[v4only]: bad/v4only has no IPv6 address for this service (give it dataInterface.ipv6Address)',
    );
    expect(() => new TunRealServer(stack, 'twice', { connection: { host: 'b' }, dataInterface: { name: 'eth0', address: 'fd00:100::2/64', ipv6Address: 'fd00:100::3/64' } })).toThrow(
      'bad/twice: dataInterface.ipv6Address: address fd00:100::2/64 is IPv6 already; a dual-stack server gives its IPv4 address as address',
    );
    expect(() => new DrRealServer(stack, 'notv6', { connection: { host: 'c' }, dataInterface: { name: 'eth0', address: '192.168.100.5/24', ipv6Address: '192.168.100.6/24' } })).toThrow(
      'bad/notv6: dataInterface.ipv6Address: 192.168.100.6/24 is not an IPv6 address',
    );
    const gue = new TunRealServer(stack, 'gue', { connection: { host: 'd' }, dataInterface: { name: 'eth0', address: '192.168.100.7/24', ipv6Address: 'fd00:100::7/64' }, tunnel: { type: 'gue' } });
    expect(() => v6.addRealServer(gue)).toThrow(
      'bad/gue: realServers[gue]: an IPv6 service reaches a TUN server by IPv6-in-IPv6 (ip6tnl0); this server\'s tunnel is gue',
    );
    expect(() => new NatRealServer(stack, 'nat', { connection: { host: 'e' }, dataInterface: { name: 'eth0', address: '192.168.100.8/24' }, ipv6Gateway: 'fd00:100::100' })).toThrow(
      'bad/nat: ipv6Gateway: only a dual-stack server (dataInterface.ipv6Address) has an IPv6 gateway of its own',
    );
  });
});
