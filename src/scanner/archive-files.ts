import type { ArchiveFiles } from '../ports/archive-files.js';
import { decodeLayer, LayerStop } from './layer-decoder.js';
import { cleanLayerPath } from './layer-paths.js';
import { scanLimits } from './scan-limits.js';
import { readTar } from './tar-reader.js';

/** The layer reader's decoder and tar parser, with its bomb and size limits, for small lookups. */
export const tarArchiveFiles: ArchiveFiles = {
  async read(source, want, opts) {
    const limits = scanLimits({ maxLayerBytes: opts.maxBytes, maxFileBytes: opts.maxFileBytes });
    const out = new Map<string, Buffer>();
    try {
      const decoded = await decodeLayer(source, limits);
      for await (const entry of readTar(decoded.chunks, { maxHeaderBytes: limits.maxTarHeaderBytes }, { endMarker: false })) {
        const clean = cleanLayerPath(entry.name);
        if (entry.type !== 'file' || !clean.ok || !clean.path || !want(clean.path) || entry.size > opts.maxFileBytes) continue;
        const parts: Buffer[] = [];
        for await (const b of entry.body()) parts.push(b);
        out.set(clean.path, Buffer.concat(parts));
      }
    } catch (e) {
      // a bomb, a cut stream or garbage: what was read so far is the answer
      if (!(e instanceof LayerStop)) throw e;
    }
    return out;
  },
};
