/**
 * What a host step spends its time on, in the lab: each nat-stack step's
 * create script run alone on its host, then again traced (bash -x with a
 * timestamp per command) and its time summed by command; and what an SSH
 * connection of its own costs, since Terraform opens one per provisioner.
 * Uses the lab with its default topology, starting it if no lab is up.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { hostOfPort } from '../lab/client';
import { SynthesizedStep, readStack } from '../synth/read';
import { ROOT, machine, median, writeSection } from './common';
import { ENV, onHost, useLab } from './lab';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STACK = 'nat-stack';
/** The steps in the order a deploy runs them (web2's step is web1's with other values). */
const ORDER = ['director_Host', 'director_Services', 'web1_Host'];
const TOP = 6;

useLab('lab/topology.conf', ['nat-director', 'nat-web1']);
const out = mkdtempSync(join(tmpdir(), 'lvs-bench-steps-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));
const synth = spawnSync('node', [join(ROOT, 'bin/app.js')], {
  env: { ...ENV, CDKTF_OUTDIR: out, LVS_CDKTF_CONFIG: join(ROOT, 'lab/lab-config.yaml') },
  encoding: 'utf8',
});
if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stderr}`);
const all = readStack(out, STACK).steps;
const steps: SynthesizedStep[] = ORDER.map((id) => all.find((s) => s.address.endsWith(`.${id}`))!);
const host = (s: SynthesizedStep) => hostOfPort(s.port);

/** bash prints PS4 before each command it runs: one `+` per nesting level, then the time (set in the script: bash ignores PS4 from the environment when run as root). */
const withTrace = (script: string) => `PS4='+\${EPOCHREALTIME} '\nset -x\n${script}`;
const TRACE_LINE = /^\++(\d+\.\d+) (.*)$/;

/** What a traced command is counted as: its program, and systemctl's verb. */
function label(command: string): string {
  const words = command.split(/\s+/);
  if (words[0] === 'systemctl') return `systemctl ${words.slice(1).find((w) => !w.startsWith('-')) ?? ''}`.trim();
  return words[0].replace(/^'(.*)'$/, '$1');
}

/** Seconds per label: each command runs until the next one is traced. */
function byCommand(trace: string): Map<string, number> {
  const lines = trace.split('\n').flatMap((l) => {
    const m = TRACE_LINE.exec(l);
    return m ? [{ at: Number(m[1]), what: label(m[2]) }] : [];
  });
  const sums = new Map<string, number>();
  lines.slice(0, -1).forEach((l, i) => sums.set(l.what, (sums.get(l.what) ?? 0) + lines[i + 1].at - l.at));
  return sums;
}

interface Measured {
  plain: number[];
  traced: number[];
  commands: Map<string, number>[];
}
const measured = new Map<SynthesizedStep, Measured>(steps.map((s) => [s, { plain: [], traced: [], commands: [] }]));
for (let run = 0; run < RUNS; run++) {
  for (const traced of [false, true]) {
    for (const s of steps) {
      const m = measured.get(s)!;
      const r = traced ? onHost(host(s), withTrace(s.create), { command: 'bash -s' }) : onHost(host(s), s.create);
      if (traced) {
        m.traced.push(r.seconds);
        m.commands.push(byCommand(r.stderr));
      } else {
        m.plain.push(r.seconds);
      }
    }
    for (const s of [...steps].reverse()) onHost(host(s), s.destroy);
  }
  console.log(`run ${run + 1}: ${steps.map((s) => `${s.address} ${measured.get(s)!.plain[run].toFixed(1)} s`).join(', ')}`);
}

const target = host(steps[steps.length - 1]);
const ssh = {
  fresh: Array.from({ length: RUNS }, () => onHost(target, '', { command: 'true', fresh: true }).seconds),
  shared: Array.from({ length: RUNS }, () => onHost(target, '', { command: 'true' }).seconds),
};

const range = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
const rows = steps.map((s) => {
  const m = measured.get(s)!;
  const mean = new Map<string, number>();
  for (const c of m.commands) for (const [k, v] of c) mean.set(k, (mean.get(k) ?? 0) + v / RUNS);
  const ranked = [...mean].sort((a, b) => b[1] - a[1]);
  const total = ranked.reduce((a, [, v]) => a + v, 0);
  const top = ranked.slice(0, TOP).map(([k, v]) => `${k} ${v.toFixed(1)}`);
  const rest = total - ranked.slice(0, TOP).reduce((a, [, v]) => a + v, 0);
  return `| ${s.address} | ${range(m.plain)} | ${range(m.traced)} | ${top.join('; ')}; the other ${Math.max(0, ranked.length - TOP)} commands ${rest.toFixed(1)} |`;
});

writeSection(
  'steps',
  `## What a host step spends its time on

Machine: ${machine()}. Lab: user-mode-linux 6.1, default topology (\`npm run lab:up\`). ${RUNS} runs; run on ${new Date().toISOString().slice(0, 10)} with \`npm run bench:steps\`.

Each nat-stack step's create script on clean hosts, in deploy order, over the lab's shared SSH connection: **alone** as Terraform runs it (\`sh\`), then **traced** (\`bash -x\`, a timestamp per command) with seconds summed by command (mean of the runs; \`systemctl\` by verb; a command's time runs until the next command starts, so a command substitution's time goes to its inner command).

| step | alone s | traced s | seconds by command |
|---|---|---|---|
${rows.join('\n')}

SSH to a lab host, \`true\`: a connection of its own (as Terraform opens for each provisioner) ${range(ssh.fresh)} s; over an open connection ${range(ssh.shared)} s.

Reading it: on these clean hosts the web server starts disabled, and \`systemctl enable nginx\` on Debian also runs \`systemd-sysv-install\` (update-rc.d, a Perl program) because nginx ships an init script; a host whose web server is already enabled skips it. \`systemctl daemon-reload\` runs once per step, and only when the step's boot unit is new or changed, so a re-run or a weight change pays neither. Both are ordinary commands that user-mode-linux makes slow (one virtual CPU; every program start is expensive); the scripts' own shell work is the remaining second or so.`,
);
console.log(`wrote ${join(ROOT, 'docs/benchmarks.md')}`);
