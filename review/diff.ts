/**
 * What a change does, in cluster terms (from the recorded topologies) and
 * per host step (from the scripts themselves: a script that changes is a
 * host that will run something, whatever the topology says).
 */
import { IpvsService } from '../lib/ipvs';
import { Topology, TopologyDirector } from '../lib/topology';
import {
  entryForwardingName,
  healthCheckLabel,
  hostLabel,
  persistenceLabel,
  protocolLabel,
  realServerTarget,
  serviceLabel,
  shortName,
  sorryServerLabel,
  vrrpLabel,
} from './labels';
import { lineDiff } from './line-diff';
import { splitLibrary } from '../lib/scripts/bundle';
import { SynthesizedStep, StackSynth, elideFiles } from '../synth/read';

export interface ScriptDiff {
  /** `up.sh`, `create script`, `destroy script`, ... */
  readonly name: string;
  readonly diff: string;
}

export interface HostChange {
  readonly summary: string;
  readonly diffs: ScriptDiff[];
}

export interface StackDiff {
  /** Cluster-level changes; empty when nothing changes or the baseline has no topology. */
  readonly cluster: string[];
  /** Host steps whose scripts or connections change. */
  readonly hosts: HostChange[];
  /** Things the reviewer should know about the comparison itself. */
  readonly notes: string[];
}

function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((t) => [key(t), t]));
}

function changed(label: string, before: unknown, after: unknown, where: string): string[] {
  return before === after ? [] : [`${label} ${String(before)} → ${String(after)} on ${where}`];
}

function diffService(before: IpvsService, after: IpvsService, retired: Set<string>): string[] {
  const where = serviceLabel(after);
  const out: string[] = [];
  if (serviceLabel(before) !== where) out.push(`service ${shortName(after.path)} moves ${serviceLabel(before)} → ${where}`);
  out.push(...changed('scheduler', before.scheduler, after.scheduler, where));
  out.push(...changed('persistence', persistenceLabel(before), persistenceLabel(after), where));
  out.push(...changed('one-packet scheduling', before.onePacket ? 'on' : 'off', after.onePacket ? 'on' : 'off', where));
  out.push(...changed('owner', healthCheckLabel(before), healthCheckLabel(after), where));
  out.push(...changed('sorry server', sorryServerLabel(before), sorryServerLabel(after), where));
  const old = byKey(before.realServers, (r) => r.server);
  const now = byKey(after.realServers, (r) => r.server);
  for (const [path, r] of now) {
    const name = shortName(path);
    const was = old.get(path);
    if (!was) {
      out.push(`${name} added to ${where} (${entryForwardingName(r)}, weight ${r.weight})`);
      continue;
    }
    out.push(...changed(`${name} weight`, was.weight, r.weight, where));
    out.push(...changed(`${name} upper threshold`, was.upperThreshold, r.upperThreshold, where));
    out.push(...changed(`${name} lower threshold`, was.lowerThreshold, r.lowerThreshold, where));
    out.push(...changed(`${name} target`, realServerTarget(was), realServerTarget(r), where));
    out.push(...changed(`${name} forwarding`, entryForwardingName(was), entryForwardingName(r), where));
  }
  for (const path of old.keys()) {
    if (now.has(path)) continue;
    out.push(
      retired.has(path)
        ? `${shortName(path)} retired from ${where}: drained and deleted, then its host is cleaned`
        : `${shortName(path)} removed from ${where}: drained and deleted`,
    );
  }
  return out;
}

function addedService(s: IpvsService, director: string): string[] {
  const what = `${protocolLabel(s)}, scheduler ${s.scheduler}, persistence ${persistenceLabel(s)}, owner ${healthCheckLabel(s)}`;
  return [
    `service ${serviceLabel(s)} added on ${director} (${what})`,
    ...s.realServers.map((r) => `${shortName(r.server)} added to ${serviceLabel(s)} (${entryForwardingName(r)}, weight ${r.weight})`),
    ...(s.sorry ? [`sorry server of ${serviceLabel(s)}: ${sorryServerLabel(s)}`] : []),
  ];
}

function diffDirector(before: TopologyDirector, after: TopologyDirector, retired: Set<string>): string[] {
  const out: string[] = [];
  const name = shortName(after.path);
  if (before.ownsWholeTable !== after.ownsWholeTable) {
    out.push(`${name} owns the whole IPVS table: ${before.ownsWholeTable ? 'yes' : 'no'} → ${after.ownsWholeTable ? 'yes' : 'no'}`);
  }
  const ifaces = (d: TopologyDirector) => d.interfaces.map((i) => `${i.name} ${i.address}`).join(', ');
  if (ifaces(before) !== ifaces(after)) out.push(`${name} interfaces ${ifaces(before)} → ${ifaces(after)}`);
  const pair = (d: TopologyDirector) => (d.pair ? vrrpLabel(d.pair) : 'no pair');
  if (pair(before) !== pair(after)) out.push(`${name} ${pair(before)} → ${pair(after)}`);
  const old = byKey(before.services, (s) => s.path);
  for (const s of after.services) {
    const was = old.get(s.path);
    if (was) {
      out.push(...diffService(was, s, retired));
      continue;
    }
    out.push(...addedService(s, name));
  }
  for (const s of before.services) {
    if (!after.services.some((n) => n.path === s.path)) {
      out.push(`service ${serviceLabel(s)} removed from ${name}: its real servers are drained, then it is deleted`);
    }
  }
  return out;
}

/** Cluster-level changes between two recorded topologies. */
export function diffTopology(before: Topology, after: Topology): string[] {
  const retired = new Set(after.retired.map((r) => r.path));
  const out: string[] = [];
  const old = byKey(before.directors, (d) => d.path);
  for (const d of after.directors) {
    const was = old.get(d.path);
    if (was) out.push(...diffDirector(was, d, retired));
    else {
      out.push(`director ${shortName(d.path)} added on host ${hostLabel(d.connection)}`);
      out.push(...d.services.flatMap((s) => addedService(s, shortName(d.path))));
    }
  }
  for (const d of before.directors) {
    if (!after.directors.some((n) => n.path === d.path)) out.push(`director ${shortName(d.path)} removed (host ${hostLabel(d.connection)})`);
  }
  out.push(...joinOrderWarnings(before, after));
  // A server retired while out of every service (so not reported above) still gets its host cleaned.
  const served = new Set(before.directors.flatMap((d) => d.services.flatMap((s) => s.realServers.map((r) => r.server))));
  for (const r of after.retired) {
    if (!served.has(r.path) && !before.retired.some((b) => b.path === r.path)) out.push(`${shortName(r.path)} retired: its host is cleaned`);
  }
  return out;
}

/**
 * A pair's first director (the higher priority) starts keepalived first and
 * becomes master three intervals later, so a new director named first takes
 * the VIPs from the running one before that one's keepalived, table and
 * connection sync are there.
 */
function joinOrderWarnings(before: Topology, after: Topology): string[] {
  const was = byKey(before.directors, (d) => d.path);
  return after.directors.flatMap((d) => {
    const running = was.get(d.path);
    const peer = after.directors.find((p) => p.path === d.pair?.peer);
    // A director that served alone, paired with a new one of higher priority.
    if (!running || running.pair || !d.pair || !peer?.pair || was.has(peer.path) || d.pair.vrrp.priority > peer.pair.vrrp.priority) return [];
    const [name, other] = [shortName(d.path), shortName(peer.path)];
    return [`warning: ${name} serves now but comes second in the new pair: ${other} starts keepalived first and takes the VIPs before ${name} hands them over, so requests fail and connections are reset; name ${name} first in directors`];
  });
}

/**
 * Diffs of the parts of a step a reviewer reads: each file it writes, the
 * rest of the create script, the destroy script. Parts with the same diff
 * (the destroy script and its copy kept on the host) are shown once.
 */
function scriptDiffs(before: SynthesizedStep, after: SynthesizedStep): ScriptDiff[] {
  const files = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])].sort();
  const parts = files.map((path) => ({ name: path, diff: lineDiff(before.files[path] ?? '', after.files[path] ?? '') }));
  parts.push({
    name: 'create script (files elided)',
    diff: lineDiff(createShown(before), createShown(after)),
  });
  parts.push({ name: 'destroy script', diff: lineDiff(before.destroy, after.destroy) });
  parts.push({ name: 'shell library (lib.sh)', diff: lineDiff(before.library ?? '', after.library ?? '') });
  const byDiff = new Map<string, string[]>();
  for (const p of parts) if (p.diff) byDiff.set(p.diff, [...(byDiff.get(p.diff) ?? []), p.name]);
  return [...byDiff].map(([diff, names]) => ({ name: names.join(', '), diff }));
}

/** The create script as the report shows it: the files and the library, shown on their own, elided. */
function createShown(step: SynthesizedStep): string {
  return elideFiles(splitLibrary(step.create).rest, Object.keys(step.files));
}

function where(step: SynthesizedStep): string {
  return `host ${hostLabel(step)} (${step.owner})`;
}

function diffStep(before: SynthesizedStep | undefined, after: SynthesizedStep | undefined, removed: Set<string>): HostChange | undefined {
  if (!before && after) return { summary: `new step ${after.address} on ${where(after)}: its create script runs`, diffs: [] };
  if (before && !after) {
    return {
      summary: removed.has(before.address)
        ? `${before.address} is retired: its destroy script (as recorded in Terraform state) runs on ${where(before)}`
        : `${before.address} leaves the configuration without a \`removed\` block: Terraform drops it WITHOUT running its destroy script on ${where(before)} (retire the server for one deploy first)`,
      diffs: [],
    };
  }
  if (!before || !after) return undefined;
  const moved = hostLabel(before) !== hostLabel(after) ? ` (was ${hostLabel(before)})` : '';
  if (before.create === after.create && before.destroy === after.destroy) {
    return moved ? { summary: `${after.address} now connects to ${where(after)}${moved}: updated in place, no script runs`, diffs: [] } : undefined;
  }
  if (after.generation !== undefined && before.generation === after.generation) {
    // Provisioners are not part of state: only a new generation makes Terraform run them.
    const summary = `scripts change on ${where(after)}${moved}: ${after.address} is updated in place: nothing runs now (the new create script runs at its next replacement; destroy runs the new destroy script)`;
    return { summary, diffs: scriptDiffs(before, after) };
  }
  const order = after.createBeforeDestroy ? 'new create script first, then the old destroy script' : 'old destroy script first, then the new create script';
  return { summary: `scripts change on ${where(after)}${moved}: ${after.address} is replaced, ${order}`, diffs: scriptDiffs(before, after) };
}

/** What changes from `before` (an earlier synth of the same stack, if it existed) to `after`. */
export function diffStack(before: StackSynth | undefined, after: StackSynth): StackDiff {
  const notes: string[] = [];
  let cluster: string[] = [];
  if (!before) notes.push(`${after.name} is new: every step is created.`);
  else if (before.topology && after.topology) cluster = diffTopology(before.topology, after.topology);
  else notes.push('The baseline has no recorded topology (synthesized by an older version), so only script changes are listed.');
  const old = byKey(before?.steps ?? [], (s) => s.address);
  const now = byKey(after.steps, (s) => s.address);
  const addresses = [...new Set([...old.keys(), ...now.keys()])];
  const removed = new Set(after.removed);
  const hosts = addresses.flatMap((a) => diffStep(old.get(a), now.get(a), removed) ?? []);
  return { cluster, hosts, notes };
}
