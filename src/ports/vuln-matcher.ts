import type { ImageInventory } from '../domain/sbom.js';
import type { Finding } from '../domain/vulnerability.js';

/**
 * The vulnerability database as the scanner sees it: match a stored inventory, and tell which
 * version of the data a match was made against (so that stored results can be re-evaluated when
 * the data changes, without reading any layer again).
 */
export interface VulnerabilityMatcher {
  /** Increases whenever the database's content changes (an import or a mirror update). */
  generation(): Promise<number>;
  /** Every advisory that applies to a package of the inventory; deterministic order (id, purl). */
  match(inventory: ImageInventory): Promise<Finding[]>;
}
