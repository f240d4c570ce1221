/**
 * The cluster as a Mermaid flowchart: clients → VIP on the director → real
 * servers, with the reply path that the forwarding method implies (NAT
 * replies go back through the director, DR/TUN replies go straight to the
 * client), since that is what differs between methods and breaks first.
 */
import { Topology } from '../lib/topology';
import { entryForwardingName, gatewayLabel, healthCheckLabel, interfaceLabel, serviceLabel, shortName } from './labels';

/**
 * Label text safe inside a quoted Mermaid label: quotes, brackets and the
 * like become Mermaid entity codes (`#34;`), line breaks become `<br/>`.
 */
export function mermaidText(lines: string[]): string {
  return lines.map((l) => l.replace(/["[\](){}<>|#]/g, (c) => `#${c.charCodeAt(0)};`)).join('<br/>');
}

/** Mermaid flowchart source (without the code fence). */
export function mermaidOf(topology: Topology): string {
  const out = ['flowchart LR', `  clients(["${mermaidText(['clients'])}"])`];
  const node = (id: string, lines: string[]) => out.push(`  ${id}["${mermaidText(lines)}"]`);
  const edge = (from: string, arrow: string, label: string, to: string) => out.push(`  ${from} ${arrow}|"${mermaidText([label])}"| ${to}`);
  const ids = new Map<string, string>();
  // Real servers are declared first so that services of any director can point at them.
  topology.realServers.forEach((r, i) => {
    ids.set(r.path, `rs${i}`);
    node(`rs${i}`, [shortName(r.path), interfaceLabel(r), ...(r.webServer ? [r.webServer] : [])]);
  });
  topology.retired.forEach((r, i) => node(`retired${i}`, [shortName(r.path), 'retired: host cleaned']));
  const directorOf = new Map<string, string>();
  topology.directors.forEach((d, i) => {
    const dir = `dir${i}`;
    const vrrp = d.pair ? [`VRRP ${d.pair.vrrp.virtualRouterId} priority ${d.pair.vrrp.priority}, pair with ${shortName(d.pair.peer)}`] : [];
    out.push(`  subgraph ${dir}["${mermaidText([shortName(d.path), ...d.interfaces.map((f) => `${f.name} ${f.address}`), ...vrrp])}"]`);
    d.services.forEach((s, j) => {
      const tag = s.persistence ? `, persistent ${s.persistence.timeout} s` : '';
      const check = s.healthCheck ? [healthCheckLabel(s)] : [];
      out.push(`    svc${i}_${j}{{"${mermaidText([serviceLabel(s), `${s.protocol ?? 'fwmark'} ${s.scheduler}${tag}`, ...check])}"}}`);
    });
    out.push('  end');
    d.services.forEach((s, j) => {
      const svc = `svc${i}_${j}`;
      edge('clients', '-->', serviceLabel(s), svc);
      const sorry = s.sorry ? [{ r: s.sorry.realServer, arrow: '-.->', label: `sorry server below weight ${s.sorry.quorum}` }] : [];
      for (const { r, arrow, label } of [...s.realServers.map((r) => ({ r, arrow: '-->', label: `${entryForwardingName(r)}, weight ${r.weight}` })), ...sorry]) {
        let id = ids.get(r.server);
        if (!id) {
          // An entry whose server the topology does not list (a hand-built stack): still draw it.
          id = `rs${ids.size}`;
          ids.set(r.server, id);
          node(id, [shortName(r.server)]);
        }
        directorOf.set(r.server, dir);
        const port = r.port !== undefined && r.port !== s.port ? `, port ${r.port}` : '';
        edge(svc, arrow, `${label}${port}`, id);
      }
    });
    topology.retired.forEach((_, k) => edge(dir, '-.-x', 'drained out', `retired${k}`));
  });
  topology.realServers.forEach((r, i) => {
    const via = directorOf.get(r.path);
    if (!via) return; // in no service: no traffic to answer
    if (r.forwarding === 'nat') edge(`rs${i}`, '-.->', `reply via gateway ${r.gateway || r.ipv6Gateway ? gatewayLabel(r) : 'director'}`, via);
    else edge(`rs${i}`, '-.->', 'direct reply', 'clients');
  });
  return out.join('\n') + '\n';
}
