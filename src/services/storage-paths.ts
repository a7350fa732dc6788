import { randomUUID } from 'node:crypto';
import type { Digest } from '../domain/digest.js';

/** Where things live in the storage driver; the only place that knows the layout. */
export const blobPath = (d: Digest) => `blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`;

export const UPLOADS_ROOT = 'uploads';

/**
 * Upload segments are flat files `uploads/<uuid>.<seq>-<random>`: no folder per session to make
 * and remove on every push. The random part keeps two racing writers of one chunk apart.
 */
export const segmentPath = (uuid: string, seq: number) =>
  `${UPLOADS_ROOT}/${uuid}.${String(seq).padStart(6, '0')}-${randomUUID().slice(0, 8)}`;

export function sessionOfSegment(path: string): string | undefined {
  const m = /^uploads\/([0-9a-f-]{36})\./.exec(path);
  return m?.[1];
}
