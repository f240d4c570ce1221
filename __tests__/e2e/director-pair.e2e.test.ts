/**
 * A DR director pair on the lab: dr-director and dr-director2 on the DR LAN
 * (see pair-suite.ts), serving an IPv4 and an IPv6 VIP (dual-stack directors
 * and real servers); dr-director serves on its own first, and dr-director2
 * joins it under load.
 *
 * @lab dr
 */
import { DR_PAIR, DR_PAIR_IPV6 } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite({ ...DR_PAIR, ipv6: DR_PAIR_IPV6 }, { join: true });
