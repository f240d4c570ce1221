/**
 * A TUN director pair on the lab: tun-director and tun-director2 on the TUN
 * LAN, the real servers taking the VIP on tunl0 (see pair-suite.ts),
 * deployed as a pair from the start (the DR and NAT suites show a running
 * director joining one), and a preempt delay shown here.
 *
 * @lab tun
 */
import { TUN_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(TUN_PAIR, { preemptDelay: true });
