/** The lab as the deploy benchmarks use it: started on demand, and SSH to its hosts timed. */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { CLI_ENV, LAB_STATE, labHosts } from '../lab/client';
import { ROOT } from './common';

export const ENV = { ...process.env, ...CLI_ENV };

/** Runs lab/lab.sh; `topology` is used by `up`. */
export function labSh(args: string[], topology?: string) {
  const env = topology ? { ...ENV, LAB_TOPOLOGY: join(ROOT, topology) } : ENV;
  return spawnSync('bash', [join(ROOT, 'lab/lab.sh'), ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * Uses the running lab if it has every host in `needed`; starts `topology`
 * (and takes it down when this process exits) if no lab is up; exits 2 if a
 * lab of another topology is up, since two labs cannot run at once.
 */
export function useLab(topology: string, needed: string[]): void {
  const up = labSh(['status']).status === 0;
  if (up && needed.every((n) => labHosts().some((h) => h.name === n))) return;
  if (up) {
    console.error(`a lab without ${needed.join(', ')} is up: take it down first (npm run lab:down)`);
    process.exit(2);
  }
  if (labSh(['up'], topology).status !== 0) throw new Error(`could not start the lab (${topology})`);
  process.on('exit', () => labSh(['down']));
}

/**
 * Runs `sh -s` (or `command`) with `script` on stdin on a lab host through the
 * lab's shared SSH connection; `fresh` opens a connection of its own, as
 * Terraform does for each provisioner. Returns wall seconds and stderr.
 */
export function onHost(name: string, script: string, opts: { command?: string; fresh?: boolean } = {}): { seconds: number; stderr: string } {
  const fresh = opts.fresh ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'] : [];
  const t0 = process.hrtime.bigint();
  const res = spawnSync('ssh', ['-F', join(LAB_STATE, 'ssh_config'), ...fresh, name, opts.command ?? 'sh -s'], {
    input: script,
    stdio: ['pipe', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.status !== 0) throw new Error(`${name}: exit ${res.status}\n${res.stderr.slice(-4000)}`);
  return { seconds, stderr: res.stderr };
}
