/**
 * A TUN director pair on the lab: tun-director and tun-director2 on the TUN
 * LAN, the real servers taking the VIP on tunl0 (see pair-suite.ts);
 * tun-director serves on its own first, and tun-director2 joins it under
 * load.
 *
 * @lab tun
 */
import { TUN_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(TUN_PAIR, { join: true });
