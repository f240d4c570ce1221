/**
 * A TUN director pair on the lab: tun-director and tun-director2 on the TUN
 * LAN, real servers decapsulating IPIP (see pair-suite.ts).
 *
 * @lab tun
 */
import { TUN_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(TUN_PAIR);
