export * from './connection';
export * from './director';
export * from './host-script';
export * from './real-server';
export * from './retired-real-server';
export * from './validation';
export * from './virtual-service';
export { Forwarding, Protocol, renderRules } from './scripts/ipvs';
export { WebServerKind } from './scripts/host';
