/**
 * Every scheduler the library accepts, on the lab's real IPVS kernel: one DR
 * service per scheduler on dr-director (its own VIP each), both dr web nodes
 * behind each; the table the kernel holds is the declared one, each VIP
 * answers from a web node, and destroy leaves the hosts as they were, their
 * kernel's modules included.
 *
 * @lab dr
 */
import { readStack } from '../../synth/read';
import { labAppProject, curlVip, leaveHostsAsFound, requireLab, sh, snapshot, sortedLines } from '../../lab/client';
import { join } from 'path';
import { SCHEDULERS } from '../../lib';

jest.setTimeout(900_000);

const STACK = 'schedulers';
const HOSTS = ['dr-director', 'dr-web1', 'dr-web2'];
/** A VIP per scheduler, outside what the other suites use on 192.168.115.0/24. */
const vipOf = (i: number) => `192.168.115.${140 + i}`;

const APP = `
const director = new LvsDirector(stack, 'lb', {
  connection: at(2221),
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
});
const webs = [1, 2].map((n) => new DrRealServer(stack, 'web' + n, {
  connection: at(2221 + n),
  dataInterface: { name: 'ens33', address: '192.168.115.11' + (1 + n) + '/24' },
  webServer: { kind: 'httpd' },
}));
SCHEDULERS.forEach((scheduler, i) => {
  const service = director.addService(scheduler, { vip: '192.168.115.' + (140 + i), scheduler });
  for (const web of webs) service.addRealServer(web);
});
`;

describe('every scheduler on the lab kernel', () => {
  const project = labAppProject(STACK, APP);
  const before: Record<string, string> = {};
  let live = false;

  beforeAll(() => {
    requireLab();
    // The snapshots include the kernel's modules: destroy unloads the schedulers the services loaded.
    for (const h of HOSTS) before[h] = snapshot(h);
  });

  afterAll(() => leaveHostsAsFound(before, () => live && project.destroy(STACK)));

  it(`creates a service for each of the ${SCHEDULERS.length} schedulers; the kernel holds the declared table`, () => {
    live = true;
    expect(project.deploy(STACK)).toMatch(/Apply complete! Resources: 4 added, 0 changed, 0 destroyed/);
    const declared = readStack(join(project.dir, 'cdktf.out'), STACK).topology!.directors[0].rules;
    expect(declared.filter((r) => r.startsWith('-A')).map((r) => r.split(' ')[4])).toEqual([...SCHEDULERS]);
    expect(sortedLines(sh('dr-director', 'ipvsadm -Sn'))).toEqual(sortedLines(declared.join('\n')));
  });

  it.each(SCHEDULERS.map((s, i) => [s, vipOf(i)]))('%s: requests through %s are answered by a web node', (_scheduler, vip) => {
    const answers = curlVip('dr-client', vip, 3);
    for (const a of answers) expect(a).toMatch(/^web[12] \(192\.168\.115\.11[23]\)$/);
  });

  it('destroy returns every host to its state before the deploy', () => {
    project.destroy(STACK);
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
