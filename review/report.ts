/**
 * The Markdown report a reviewer reads in a pull request for one stack:
 * what the change does, the cluster, a diagram, and every command each host
 * will run. Long scripts sit in collapsed sections so the page stays short.
 */
import { TopologyDirector, TopologyRealServer } from '../lib/topology';
import { StackDiff, diffStack } from './diff';
import { entryForwardingLabel, forwardingLabel, gatewayLabel, healthCheckLabel, hostLabel, vrrpLabel, interfaceLabel, persistenceLabel, protocolLabel, realServerTarget, serviceLabel, shortName, sorryServerLabel, thresholdsLabel } from './labels';
import { details, fence, table } from './markdown';
import { mermaidOf } from './mermaid';
import { splitLibrary } from '../lib/scripts/bundle';
import { SynthesizedStep, StackSynth, elideFiles } from '../synth/read';

/** Marks a PR comment as this stack's report, so CI can update it instead of adding another. */
function reportMarker(stack: string): string {
  return `<!-- lvs-cdktf-review:${stack} -->`;
}

export interface Comparison {
  /** What the baseline is, as the reviewer knows it (a git ref or a directory). */
  readonly label: string;
  /** The same stack in the baseline; absent when the stack is new. */
  readonly before?: StackSynth;
}

function changeSection(diff: StackDiff, label: string): string {
  const out = [`## What this change does`, '', `Compared with \`${label}\`.`, ''];
  out.push(...diff.notes.map((n) => `> ${n}`), ...(diff.notes.length ? [''] : []));
  if (!diff.cluster.length && !diff.hosts.length) return [...out, 'No change: no host runs anything.'].join('\n');
  if (diff.cluster.length) out.push('**Cluster**', '', ...diff.cluster.map((c) => `- ${c}`), '');
  if (diff.hosts.length) {
    out.push('**Hosts whose scripts change**', '');
    for (const h of diff.hosts) {
      out.push(`- ${h.summary}`);
      for (const d of h.diffs) out.push('', details(`diff of ${d.name}`, fence(d.diff, 'diff')).replace(/^/gm, '  '));
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

function directorSection(d: TopologyDirector): string {
  const out = [
    `### Director ${shortName(d.path)} (${d.connection.user}@${hostLabel(d.connection)})`,
    '',
    `Interfaces: ${d.interfaces.map((i) => `${i.name} ${i.address}`).join(', ')}. Owns the whole IPVS table: ${d.ownsWholeTable ? 'yes' : 'no'}.`,
    '',
    ...(d.pair ? [`Director pair (keepalived holds the VIPs on the active one): ${vrrpLabel(d.pair)}.`, ''] : []),
    table(
      ['service', 'protocol', 'scheduler', 'persistence', 'real servers', 'owner and health check'],
      d.services.map((s) => [serviceLabel(s), protocolLabel(s), s.scheduler, persistenceLabel(s), String(s.realServers.length), healthCheckLabel(s)]),
    ),
  ];
  for (const s of d.services) {
    out.push(
      '',
      `#### ${serviceLabel(s)}`,
      '',
      table(
        ['real server', 'target', 'forwarding', 'weight', 'thresholds'],
        s.realServers.map((r) => [shortName(r.server), realServerTarget(r), entryForwardingLabel(r), String(r.weight), thresholdsLabel(r)]),
      ),
      ...(s.sorry ? ['', `Sorry server (keepalived serves from it alone meanwhile): ${sorryServerLabel(s)}.`] : []),
    );
  }
  out.push('', details('IPVS table (ipvsadm -Sn)', fence(d.rules.join('\n'), 'text')));
  return out.join('\n');
}

function realServersSection(servers: TopologyRealServer[]): string {
  const rows = servers.map((r) => [
    shortName(r.path),
    `${r.connection.user}@${hostLabel(r.connection)}`,
    forwardingLabel(r.forwarding),
    interfaceLabel(r),
    r.vips.join(', ') || '-',
    gatewayLabel(r),
    r.webServer ?? '-',
  ]);
  return ['### Real server hosts', '', table(['real server', 'SSH', 'forwarding', 'interface', 'VIPs', 'gateway', 'web server'], rows)].join('\n');
}

function topologySection(stack: StackSynth): string {
  const t = stack.topology;
  if (!t) return '## Topology\n\nThis synth output records no topology (synthesized by an older version).';
  const out = ['## Topology', '', ...t.directors.map(directorSection)];
  if (t.realServers.length) out.push('', realServersSection(t.realServers));
  if (t.retired.length) {
    out.push('', '### Retiring', '');
    out.push(...t.retired.map((r) => `- ${shortName(r.path)} (\`${r.resource}\`): drained out of the table, then its host is cleaned by the destroy script recorded in Terraform state.`));
  }
  out.push('', '## Diagram', '', fence(mermaidOf(t), 'mermaid'));
  return out.join('\n');
}

function createStep(step: SynthesizedStep): string {
  const shown = Object.keys(step.files).filter((p) => /\/(up|down)\.sh$/.test(p));
  const out = [`**\`${step.address}\`** (${step.owner})`, ''];
  for (const path of shown) {
    const role = path.endsWith('/up.sh') ? 'what runs at apply and at every boot' : 'undo, run by destroy';
    out.push(details(`${path}: ${role}`, fence(step.files[path], 'sh')), '');
  }
  out.push(details('create script (up.sh/down.sh bodies elided)', fence(elideFiles(splitLibrary(step.create).rest, shown), 'sh')));
  return out.join('\n');
}

function destroyStep(step: SynthesizedStep): string {
  return [`**\`${step.address}\`** (${step.owner})`, '', details('destroy script', fence(step.destroy, 'sh'))].join('\n');
}

/** Commands grouped by host (SSH address), then by create and destroy. */
function commandsSection(stack: StackSynth, before?: StackSynth): string {
  const hosts = new Map<string, SynthesizedStep[]>();
  for (const s of stack.steps) hosts.set(hostLabel(s), [...(hosts.get(hostLabel(s)) ?? []), s]);
  const out = ['## Commands per host'];
  for (const [host, steps] of hosts) {
    const owners = [...new Set(steps.map((s) => s.owner))].join(', ');
    out.push('', `### ${host} (${owners})`, '', '#### Create', '', steps.map(createStep).join('\n\n'));
    out.push('', '#### Destroy', '', steps.map(destroyStep).join('\n\n'));
  }
  const library = stack.steps.find((s) => s.library)?.library;
  if (library) {
    out.push('', '### Shell library', '', 'Every create script carries it (elided above) and installs it as `lib.sh` in its state directory; up.sh and down.sh source it.', '');
    out.push(details('lib/scripts/lvs.sh as shipped', fence(library, 'sh')));
  }
  for (const address of stack.removed) {
    const old = before?.steps.find((s) => s.address === address);
    out.push('', `### Retired: \`${address}\``, '');
    // The script that runs is the one in state; the baseline's copy is the best picture of it synth output can give.
    out.push(old ? `Runs on ${hostLabel(old)}, the destroy script as of the baseline:\n\n${details('destroy script', fence(old.destroy, 'sh'))}` : 'Runs the destroy script recorded in Terraform state (not in this synth output).');
  }
  return out.join('\n');
}

/** The whole report for one stack; with `compare`, it starts with what the change does. */
export function buildReport(stack: StackSynth, compare?: Comparison): string {
  const parts = [reportMarker(stack.name), `# LVS plan review: ${stack.name}`];
  if (compare) parts.push(changeSection(diffStack(compare.before, stack), compare.label));
  parts.push(topologySection(stack), commandsSection(stack, compare?.before));
  return parts.join('\n\n') + '\n';
}
