/**
 * Connections whose host, port or host key come from another resource of the
 * same stack, and hosts that are configured through a login user other than
 * root.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DataResource, Testing, TerraformStack, Token } from 'cdktf';
import { DrRealServer, LvsDirector } from '../lib';
import { appWith, resourcesOf, synthJson } from './helpers';

const TF_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', TF_IN_AUTOMATION: '1' };

/** A director and one DR server; the server's connection is `connection` (the director's is literal). */
function cluster(connection: (stack: TerraformStack) => ConstructorParameters<typeof DrRealServer>[2]['connection']) {
  const stack = new TerraformStack(appWith(), 'edge');
  const director = new LvsDirector(stack, 'lb1', {
    connection: { host: '10.0.0.10' },
    interfaces: [{ name: 'ens33', address: '192.168.115.111/24' }],
  });
  const web = new DrRealServer(stack, 'web1', { connection: connection(stack), dataInterface: { name: 'ens33', address: '192.168.115.112/24' } });
  director.addService('http', { vip: '192.168.115.110' }).addRealServer(web);
  return stack;
}

/** A host created in the same stack: its address, port and key are known only at apply. */
function machine(stack: TerraformStack) {
  return new DataResource(stack, 'machine', { input: { address: '10.0.0.12', port: 2212, key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB' } });
}

function validates(stack: TerraformStack): void {
  const dir = mkdtempSync(join(tmpdir(), 'lvs-tf-'));
  writeFileSync(join(dir, 'cdk.tf.json'), Testing.synth(stack));
  execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, env: TF_ENV, stdio: 'pipe' });
  const out = execFileSync('terraform', ['validate', '-json'], { cwd: dir, env: TF_ENV, encoding: 'utf8' });
  expect(JSON.parse(out)).toMatchObject({ valid: true, error_count: 0 });
}

describe('connection fields given as references to other resources', () => {
  const stack = cluster((s) => {
    const m = machine(s);
    return {
      host: Token.asString(m.output.lookup('address')),
      port: Token.asNumber(m.output.lookup('port')),
      hostKey: Token.asString(m.output.lookup('key')),
    };
  });
  const web = resourcesOf(stack).find((r) => r.name === 'web1_Host')!;

  it('reach the step as Terraform expressions, so Terraform configures the host after it exists', () => {
    expect(web.attributes.host).toBe('${terraform_data.machine.output[\"address\"]}');
    expect(web.attributes.port).toBe('${terraform_data.machine.output[\"port\"]}');
    expect(web.attributes.host_key).toBe('${terraform_data.machine.output[\"key\"]}');
    // The connection itself still reads only `self`, as destroy-time provisioners require.
    expect(web.body.connection.host).toBe('${self.input.host}');
  });

  it('are checked when Terraform knows them: one precondition per reference, naming the construct and field', () => {
    const pre = web.body.lifecycle.precondition as { condition: string; error_message: string }[];
    expect(pre.map((p) => p.error_message.split(':').slice(0, 2).join(':'))).toEqual([
      'edge/web1: connection.host',
      'edge/web1: connection.port',
      'edge/web1: connection.hostKey',
    ]);
    expect(pre[0].condition).toBe('${can(regex("^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$", terraform_data.machine.output["address"]))}');
    expect(pre[1].condition).toContain('terraform_data.machine.output["port"]');
    // Literal fields need no precondition (a director's Host step is replaced create-before-destroy).
    expect(resourcesOf(stack).find((r) => r.name === 'lb1_Host')!.body.lifecycle).toEqual({ create_before_destroy: true });
  });

  it('Terraform accepts the stack', () => validates(stack));

  it('a value that fails the check stops the apply before the host step runs, with the one-line message', () => {
    // Only a real server (no director, which would be reached over SSH); its host comes from a resource applied first.
    const bad = new TerraformStack(appWith(), 'edge');
    const m = new DataResource(bad, 'machine', { input: { address: 'not a host!' } });
    new DrRealServer(bad, 'web1', { connection: { host: Token.asString(m.output.lookup('address')) }, dataInterface: { name: 'ens33', address: '192.168.115.112/24' } });
    const dir = mkdtempSync(join(tmpdir(), 'lvs-tf-'));
    writeFileSync(join(dir, 'cdk.tf.json'), Testing.synth(bad));
    execFileSync('terraform', ['init', '-input=false', '-backend=false'], { cwd: dir, env: TF_ENV, stdio: 'pipe' });
    const res = spawnSync('terraform', ['apply', '-auto-approve', '-input=false', '-no-color'], { cwd: dir, env: TF_ENV, encoding: 'utf8' });
    expect(res.status).toBe(1);
    expect(res.stdout + res.stderr).toContain('edge/web1: connection.host: does not match');
    expect(res.stdout + res.stderr).not.toMatch(/web1_Host: Creating|Provisioning/);
  });

  it('a literal value is still checked at synth', () => {
    expect(() => cluster(() => ({ host: 'bad host!' }))).toThrow(/^edge\/web1: connection\.host: expected a DNS name or IP address/);
    expect(() => cluster(() => ({ host: '10.0.0.12', port: 0 }))).toThrow(/^edge\/web1: connection\.port: expected an integer from 1 to 65535/);
  });
});

describe('a login user other than root', () => {
  const stack = cluster(() => ({ host: '10.0.0.12', user: 'deploy' }));
  const [web] = resourcesOf(stack).filter((r) => r.name === 'web1_Host');
  const [lb] = resourcesOf(stack).filter((r) => r.name === 'lb1_Host');
  const reexec = '[ "$(id -u)" = 0 ] || exec sudo -n /bin/sh "$0"';

  it('runs the create and the destroy script as root through non-interactive sudo, right after set -eu', () => {
    for (const script of [web.create, web.destroy]) expect(script.split('\n').slice(0, 3)).toEqual(['#!/bin/sh', 'set -eu', reexec]);
    expect(synthJson(stack).resource.terraform_data.web1_Host.input.user).toBe('deploy');
  });

  it('root needs no sudo', () => {
    for (const script of [lb.create, lb.destroy]) expect(script).not.toContain('sudo');
  });

  it('the scripts pass shellcheck', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvs-sc-'));
    const files = [web.create, web.destroy].map((body, i) => {
      const f = join(dir, `${i}.sh`);
      writeFileSync(f, body);
      return f;
    });
    const res = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', ...files], { encoding: 'utf8' });
    expect(res.stdout + res.stderr).toBe('');
  });
});
