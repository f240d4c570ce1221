/**
 * A DR director pair on the lab: dr-director and dr-director2 on the DR LAN
 * (see pair-suite.ts); dr-director serves on its own first, and dr-director2
 * joins it under load.
 *
 * @lab dr
 */
import { DR_PAIR } from '../../lab/client';
import { pairSuite } from './pair-suite';

jest.setTimeout(900_000);

pairSuite(DR_PAIR, { join: true });
