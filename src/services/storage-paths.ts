import type { Digest } from '../domain/digest.js';

/** Where things live in the storage driver; the only place that knows the layout. */
export const blobPath = (d: Digest) => `blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`;
export const uploadDir = (uuid: string) => `uploads/${uuid}`;
export const UPLOADS_ROOT = 'uploads';
