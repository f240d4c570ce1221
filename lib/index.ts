// The public API of lvs-cdktf, listed by hand: everything else in lib/ is
// internal and may change without notice.
export { ConfiguredHost } from './configured-host';
export type { ConfiguredHostProps } from './configured-host';
export { LvsDirector } from './director';
export type { LvsDirectorProps, IpvsTunables } from './director';
export { LvsDirectorPair } from './director-pair';
export type { LvsDirectorPairProps } from './director-pair';
export { VirtualService } from './virtual-service';
export type { VirtualServiceOptions, RealServerOptions, SorryServerOptions, PersistenceOptions, MarkRuleOptions, HealthCheckOptions } from './virtual-service';
export { SCHEDULERS, PROTOCOLS, HEALTH_CHECK_TYPES } from './ipvs';
export type { Forwarding, Protocol, Scheduler, HealthCheck, HealthCheckType } from './ipvs';
export { RealServer, NatRealServer, DrRealServer, TunRealServer } from './real-server';
export type { RealServerProps, NatRealServerProps, TunRealServerProps, TunnelProps, InterfaceProps, RealServerInterfaceProps, WebServerProps } from './real-server';
export { RetiredRealServer } from './retired-real-server';
export type { RetiredRealServerProps } from './retired-real-server';
export type { SshConnectionProps, BastionProps } from './connection';
export { ResourceKind, RESOURCE_KIND_CONTEXT } from './host-step';
export type { HostStep } from './host-step';
export { LvsValidationError } from './validation';
export type { Cidr } from './validation';
export { FRAMEWORKS } from './framework';
export type { WebServerKind } from './scripts/host';
