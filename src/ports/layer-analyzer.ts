import type { ImageInventory, LayerInventory } from '../domain/sbom.js';

/** The layer analyzers as the scan service sees them (implemented in src/scanner). */
export interface LayerAnalyzer {
  /**
   * Names the analyzers' behaviour: stored layer inventories are keyed by digest and this
   * version, so an analyzer upgrade reads layers again and an unchanged one never does.
   */
  readonly version: string;
  /** Reads the layer blob once, as a stream; hostile content degrades with warnings. */
  analyze(source: AsyncIterable<Uint8Array>, layerDigest: string, signal?: AbortSignal): Promise<LayerInventory>;
  /** An image's inventory from its layers' inventories, lowest first (whiteouts honoured). */
  merge(layers: readonly LayerInventory[]): ImageInventory;
}
