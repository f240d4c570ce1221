/**
 * Renders the scripts that converge a director's live IPVS table to the
 * declared one without ever flushing a service that stays.
 */
import { IpvsService, markRuleArgs, ruleLines, serviceSelector } from '../ipvs';
import { ChainSpec, Fragment, chainDown, chainUp } from './host';
import { heredocVar } from './shell';

export interface IpvsTableSpec {
  readonly services: IpvsService[];
  /**
   * The stack owns the whole IPVS table: services it does not declare are
   * drained and deleted, and destroy deletes every service but keepalived's.
   */
  readonly ownsWholeTable: boolean;
  /** Seconds to wait for active connections of a removed real server to end. */
  readonly drainSeconds: number;
  /** The director's iptables chain (mangle table) for the firewall-mark services' marking rules. */
  readonly marksChain: string;
  /** Services of the director that keepalived owns (health-checked): left alone, and their marking rules still applied here. */
  readonly keepalivedServices: IpvsService[];
}

/**
 * The table's scripts; the logic is lvs_table_up, lvs_table_down and
 * lvs_chain_* in lvs.sh. The marking rules follow the services they mark
 * for, and go first on the way down. Without marking rules, only a chain a
 * previous generation left is removed (a director need not have iptables).
 */
export function ipvsTableFragment(spec: IpvsTableSpec): Required<Fragment> {
  const whole = spec.ownsWholeTable ? 'yes' : 'no';
  const marks = marksChain([...spec.services, ...spec.keepalivedServices], spec.marksChain);
  return {
    prepare: 'lvs_table_record',
    up: [
      heredocVar('desired_services', spec.services.map(serviceSelector), 'LVS_RULES'),
      heredocVar('desired_rules', ruleLines(spec.services, false), 'LVS_RULES'),
      heredocVar('keepalived_services', spec.keepalivedServices.map(serviceSelector), 'LVS_RULES'),
      `lvs_table_up ${whole} ${spec.drainSeconds} "$desired_services" "$desired_rules" "$keepalived_services"`,
      chainUp(marks),
    ].join('\n'),
    down: `${chainDown(marks)}\nlvs_table_down ${whole} ${spec.drainSeconds}`,
  };
}

/** The director's chain (PREROUTING) marking the firewall-mark services' traffic. */
export function marksChain(services: IpvsService[], name: string): ChainSpec {
  return { cmd: 'iptables', hook: 'PREROUTING', name, rules: markRuleArgs(services) };
}
