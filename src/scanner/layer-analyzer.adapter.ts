import type { LayerAnalyzer } from '../ports/layer-analyzer.js';
import { mergeLayers } from './layer-merge.js';
import { scanLayer } from './layer-reader.js';

/**
 * Bump when an analyzer finds more or different packages in the same bytes: every layer is then
 * read again on its next scan (stored inventories of the old version are not used).
 */
export const ANALYZER_VERSION = 'berth-layer/1';

export const builtinLayerAnalyzer: LayerAnalyzer = {
  version: ANALYZER_VERSION,
  analyze: (source, layerDigest, signal) => scanLayer(source, { layerDigest, ...(signal ? { signal } : {}) }),
  merge: mergeLayers,
};
