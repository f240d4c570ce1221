/**
 * Changing a live cluster: weights, a new real server, a real server that
 * leaves. The service is never flushed, removed servers are drained before
 * they leave the table, and a retired server's host is cleaned.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { LvsConfig, RealServerConfig, loadConfigFile } from '../../../stacks';
import { CdktfProject, LAB_CONFIG, curlVip, labStack, requireLab, sh, snapshot, sortedLines } from '../lab';

jest.setTimeout(900_000);

const VIP = '192.168.115.111';
const base = loadConfigFile(LAB_CONFIG);
const labServers = base.stacks!['nat-stack'].realServers!;
const web3: RealServerConfig = {
  name: 'web3',
  connection: { host: '127.0.0.1', port: 2214 },
  interface: { name: 'ens33', address: '192.168.116.114/24' },
  webServer: 'nginx',
};

describe('changing nat-stack on the lab', () => {
  const project = new CdktfProject();
  const configFile = join(project.dir, 'lvs.json');
  project.configFile = configFile;
  const use = (realServers: RealServerConfig[], scheduler = 'rr') => {
    const cfg: LvsConfig = {
      ...base,
      stacks: { 'nat-stack': { ...base.stacks!['nat-stack'], service: { scheduler: scheduler as never }, realServers } },
    };
    writeFileSync(configFile, JSON.stringify(cfg));
  };
  const rules = () => sortedLines(sh('nat-director', 'ipvsadm -Sn'));
  const desired = () => sortedLines(labStack('nat-stack', configFile).director.desiredRules.join('\n'));
  /** Total connections the service has seen; a flushed service starts again from 0. */
  const served = () => Number(/^TCP\s+\S+\s+(\d+)/m.exec(sh('nat-director', `ipvsadm -Ln --stats -t ${VIP}:80`))![1]);
  let web3Before = '';
  let web2Before = '';

  beforeAll(() => {
    requireLab();
    sh('nat-web3', 'modprobe -a ip_vs ipip');
    web3Before = snapshot('nat-web3');
    web2Before = snapshot('nat-web2');
    use(labServers);
    project.deploy('nat-stack');
  });

  afterAll(() => {
    project.destroy('nat-stack');
  });

  it('a weight change edits the entry in place', () => {
    curlVip('nat-client', VIP, 4);
    const seen = served();
    use([{ ...labServers[0], weight: 3 }, labServers[1]]);
    const out = project.deploy('nat-stack');
    expect(out).toMatch(/1 added, 0 changed, 1 destroyed/);
    expect(rules()).toEqual(desired());
    expect(rules()).toContain('-a -t 192.168.115.111:80 -r 192.168.116.112:80 -m -w 3');
    expect(served()).toBeGreaterThanOrEqual(seen);
  });

  it('adding a real server prepares it, then adds it; only the table is replaced', () => {
    const seen = served();
    use([{ ...labServers[0], weight: 3 }, labServers[1], web3]);
    const out = project.deploy('nat-stack');
    expect(out).toMatch(/2 added, 0 changed, 1 destroyed/);
    expect(rules()).toEqual(desired());
    expect(new Set(curlVip('nat-client', VIP, 10).map((a) => a.split(' ')[0]))).toEqual(new Set(['web1', 'web2', 'web3']));
    expect(served()).toBeGreaterThanOrEqual(seen + 10);
  });

  it('changing the scheduler keeps the service', () => {
    const seen = served();
    use([{ ...labServers[0], weight: 3 }, labServers[1], web3], 'wrr');
    project.deploy('nat-stack');
    expect(rules()).toEqual(desired());
    expect(served()).toBeGreaterThanOrEqual(seen);
  });

  it('a retired real server is drained out of the table, then its host is cleaned', () => {
    use([{ ...labServers[0], weight: 3 }, labServers[1], { ...web3, retired: true }], 'wrr');
    const out = project.deploy('nat-stack');
    expect(out).toMatch(/draining 192\.168\.116\.114:80/);
    expect(out.indexOf('draining 192.168.116.114:80')).toBeLessThan(out.indexOf('nat-stack-web3: removed'));
    expect(rules()).toEqual(desired());
    expect(rules().join('\n')).not.toContain('192.168.116.114');
    expect(snapshot('nat-web3')).toEqual(web3Before);
    expect(new Set(curlVip('nat-client', VIP, 6).map((a) => a.split(' ')[0]))).toEqual(new Set(['web1', 'web2']));
  });

  it('deleting a real server from the code takes it out of the table; remove.sh on the host cleans it', () => {
    use([{ ...labServers[0], weight: 3 }], 'wrr');
    project.deploy('nat-stack');
    expect(rules()).toEqual(desired());
    expect(curlVip('nat-client', VIP, 3).map((a) => a.split(' ')[0])).toEqual(['web1', 'web1', 'web1']);
    // Terraform ran no destroy step for it: the host is still configured until cleaned by hand.
    expect(snapshot('nat-web2')).not.toEqual(web2Before);
    sh('nat-web2', 'sh /var/lib/lvs-cdktf/nat-stack-web2/remove.sh');
    expect(snapshot('nat-web2')).toEqual(web2Before);
  });
});
