/**
 * A NAT director pair on the lab: nat-director and nat-director2 on both NAT
 * LANs, the real servers' default gateway a floating address on the inside
 * one (see pair-suite.ts).
 *
 * @lab nat
 */
import { NAT_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(NAT_PAIR);
