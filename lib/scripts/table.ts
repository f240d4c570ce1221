/**
 * Renders the scripts that converge a director's live IPVS table to the
 * declared one without ever flushing a service that stays.
 */
import { IpvsService, ruleLines, serviceSelector } from '../ipvs';
import { Fragment } from './host';

export interface IpvsTableSpec {
  readonly services: IpvsService[];
  /**
   * The stack owns the whole IPVS table: services it does not declare are
   * drained and deleted, and destroy ends with `ipvsadm -C`.
   */
  readonly ownsWholeTable: boolean;
  /** Seconds to wait for active connections of a removed real server to end. */
  readonly drainSeconds: number;
}

/** The table's scripts; the logic is lvs_table_up and lvs_table_down in lvs.sh. */
export function ipvsTableFragment(spec: IpvsTableSpec): Required<Fragment> {
  const whole = spec.ownsWholeTable ? 'yes' : 'no';
  return {
    prepare: 'lvs_table_record',
    up: [
      `desired_services=$(cat <<'LVS_RULES'\n${spec.services.map(serviceSelector).join('\n')}\nLVS_RULES\n)`,
      `desired_rules=$(cat <<'LVS_RULES'\n${ruleLines(spec.services, false).join('\n')}\nLVS_RULES\n)`,
      `lvs_table_up ${whole} ${spec.drainSeconds} "$desired_services" "$desired_rules"`,
    ].join('\n'),
    down: `lvs_table_down ${whole} ${spec.drainSeconds}`,
  };
}
