/** What the end-to-end tests add to the lab client (lab/client.ts): jest checks, and host steps by lab host. */
import { ClusterStack, RealServerConfig } from '../../stacks';
import { hostOfPort } from '../../lab/client';
import { SynthResource, resourcesOf } from '../helpers';

/** nat-stack's third real server on the lab (lab-config.yaml declares two): the one the change suites add and retire. */
export const NAT_WEB3: RealServerConfig = {
  name: 'web3',
  connection: { host: '127.0.0.1', port: 2214 },
  interface: { name: 'ens33', address: '192.168.116.114/24' },
  webServer: 'nginx',
};

/** Checks answers alternate between the real servers (round robin) and all answered. */
export function expectRoundRobin(answers: string[], servers: string[]): void {
  const names = answers.map((a) => a.split(' ')[0]);
  expect(new Set(names)).toEqual(new Set(servers));
  for (let i = 1; i < names.length; i++) expect(names[i]).not.toBe(names[i - 1]);
}

/** The stack's host steps with the lab host each runs on, found by its SSH port. */
export function resourcesByHost(stack: ClusterStack): [string, SynthResource][] {
  return resourcesOf(stack).map((r) => [hostOfPort(r.port), r]);
}
