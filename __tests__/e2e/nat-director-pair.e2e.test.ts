/**
 * A NAT director pair on the lab: nat-director and nat-director2 on both NAT
 * LANs, the real servers' default gateway a floating address on the inside
 * one (see pair-suite.ts); nat-director serves on its own first, and
 * nat-director2 joins it under load, the real servers moving their default
 * route to the floating gateway.
 *
 * @lab nat
 */
import { NAT_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(NAT_PAIR, { join: true });
