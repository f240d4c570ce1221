import { Construct } from 'constructs';
import { TerraformStack } from 'cdktf';
import {
  DrRealServer,
  LvsDirector,
  NatRealServer,
  RealServer,
  RealServerProps,
  RESOURCE_KIND_CONTEXT,
  ResourceKind,
  RetiredRealServer,
  TunRealServer,
  VirtualService,
} from '../lib';
import { checkBool, fail } from '../lib/validation';
import { addBackend, BackendConfig } from './backend';
import { ClusterConfig } from './config';
import { ClusterMode } from './topologies';

export interface ClusterStackProps {
  readonly mode: ClusterMode;
  readonly cluster: ClusterConfig;
  /** @default - the "lvs-cdktf:resourceKind" context, else terraform_data */
  readonly resourceKind?: ResourceKind;
  /**
   * Where the stack's Terraform state lives; `{stack}` in its options is the stack's name.
   * @default - cdktf's local backend: terraform.<stack>.tfstate in the directory cdktf runs in
   */
  readonly backend?: BackendConfig;
}

type RealServerConfig = ClusterConfig['realServers'][number];

const REAL_SERVER: Record<ClusterMode, (scope: Construct, rs: RealServerConfig) => RealServer> = {
  nat: (scope, rs) => new NatRealServer(scope, rs.name, { ...realServerProps(rs), gateway: rs.gateway }),
  dr: (scope, rs) => new DrRealServer(scope, rs.name, realServerProps(rs)),
  tun: (scope, rs) => new TunRealServer(scope, rs.name, { ...realServerProps(rs), tunnel: rs.tunnel }),
};

/**
 * One LVS cluster: a director, one virtual service, and its real servers of
 * one forwarding method. Construct IDs ("director", "web", the real servers'
 * names) name the Terraform resources: keep them stable.
 */
export class ClusterStack extends TerraformStack {
  public readonly director: LvsDirector;
  public readonly service: VirtualService;

  constructor(scope: Construct, name: string, props: ClusterStackProps) {
    super(scope, name);
    if (props.resourceKind !== undefined) this.node.setContext(RESOURCE_KIND_CONTEXT, props.resourceKind);
    if (props.backend) addBackend(this, props.backend);
    const { director, service, realServers } = props.cluster;
    this.director = new LvsDirector(this, 'director', director);
    this.service = this.director.addService('web', service);
    for (const [i, rs] of realServers.entries()) {
      if (checkBool(this, `cluster.realServers[${i}].retired`, rs.retired ?? false)) {
        new RetiredRealServer(this, rs.name, { connection: rs.connection });
        continue;
      }
      // A field of another mode would be dropped without a word.
      if (rs.gateway !== undefined && props.mode !== 'nat') fail(this, `cluster.realServers[${i}].gateway`, `only a NAT real server has a gateway; this stack is ${props.mode}`);
      if (rs.tunnel !== undefined && props.mode !== 'tun') fail(this, `cluster.realServers[${i}].tunnel`, `only a TUN real server has a tunnel; this stack is ${props.mode}`);
      if (rs.sorry !== undefined) {
        const given = (['weight', 'upperThreshold', 'lowerThreshold'] as const).find((f) => rs[f] !== undefined);
        // keepalived sets a sorry server's weight (0 standing by, 1 serving), and it has no thresholds.
        if (given) fail(this, `cluster.realServers[${i}].${given}`, 'a sorry server has none: keepalived adds it at weight 1');
        this.service.setSorryServer(REAL_SERVER[props.mode](this, rs), { port: rs.port, ...rs.sorry });
        continue;
      }
      this.service.addRealServer(REAL_SERVER[props.mode](this, rs), {
        weight: rs.weight,
        port: rs.port,
        upperThreshold: rs.upperThreshold,
        lowerThreshold: rs.lowerThreshold,
      });
    }
  }
}

function realServerProps(rs: RealServerConfig): RealServerProps {
  return {
    connection: rs.connection,
    dataInterface: rs.interface,
    webServer: rs.webServer ? { kind: rs.webServer } : undefined,
  };
}
