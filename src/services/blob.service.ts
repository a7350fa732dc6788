import type { Readable } from 'node:stream';
import { parseDigest } from '../domain/digest.js';
import { blobUnknown, rangeNotSatisfiable } from '../domain/errors.js';
import type { BlobRecord } from '../domain/records.js';
import type { RepoName } from '../domain/repo-name.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import { PathNotFoundError, type StorageDriver } from '../ports/storage-driver.js';
import { type Actor, actorFields } from './audit.service.js';
import type { RepositoryResolver } from './repositories.js';
import { blobPath } from './storage-paths.js';

export interface BlobReadConfig {
  /** answer blob GETs with a redirect to the storage driver's URL when it can give one */
  redirect: boolean;
  redirectTtlSeconds: number;
}

export type BlobContent =
  | { kind: 'redirect'; blob: BlobRecord; url: string }
  | { kind: 'stream'; blob: BlobRecord; stream: Readable; range?: { start: number; end: number } };

export class BlobService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      repositories: RepositoryResolver;
      config: BlobReadConfig;
      clock?: Clock;
    },
  ) {}

  async stat(name: RepoName, digestParam: string): Promise<BlobRecord> {
    const digest = parseDigest(digestParam);
    const repo = await this.deps.repositories.find(name);
    const blob = await this.deps.metadata.blobs.getInRepository(repo.id, digest.value);
    if (!blob) throw blobUnknown(digest.value);
    return blob;
  }

  /** GET: the bytes (whole or one range), or a redirect to the object store. */
  async open(name: RepoName, digestParam: string, rangeHeader: string | undefined): Promise<BlobContent> {
    const blob = await this.stat(name, digestParam);
    const range = rangeHeader === undefined || !isSingleByteRange(rangeHeader) ? undefined : parseRange(rangeHeader, blob.size);
    const path = blobPath(parseDigest(blob.digest));
    const { storage, config } = this.deps;
    if (config.redirect && storage.redirectUrl && !range) {
      const url = await storage.redirectUrl(path, { expiresInSeconds: config.redirectTtlSeconds });
      if (url) return { kind: 'redirect', blob, url };
    }
    try {
      const stream = await storage.reader(path, range ? { offset: range.start, length: range.end - range.start + 1 } : {});
      return { kind: 'stream', blob, stream, ...(range ? { range } : {}) };
    } catch (e) {
      // recorded but gone from storage: report it as missing rather than as a server fault
      if (e instanceof PathNotFoundError) throw blobUnknown(blob.digest);
      throw e;
    }
  }

  /** DELETE: unlinks the blob from the repository; storage is reclaimed by garbage collection. */
  async delete(name: RepoName, digestParam: string, actor?: Actor): Promise<void> {
    const digest = parseDigest(digestParam);
    const repo = await this.deps.repositories.find(name);
    const at = this.deps.clock?.now() ?? Date.now();
    const gone = await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.blobs.unlink(repo.id, digest.value))) return false;
      await tx.audit.append({
        ...actorFields(actor),
        operation: 'delete',
        resourceType: 'blob',
        resource: `${name.value}@${digest.value}`,
        projectId: repo.projectId,
        result: 'success',
        at,
      });
      return true;
    });
    if (!gone) throw blobUnknown(digest.value);
  }
}

/**
 * RFC 9110 §14.2: a server MUST ignore a Range with a unit it does not understand, and MAY ignore
 * one it will not serve; several ranges at once get the whole blob.
 */
function isSingleByteRange(header: string): boolean {
  const h = header.trim();
  return /^bytes=/i.test(h) && !h.includes(',');
}

/** RFC 9110 single byte range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. */
export function parseRange(header: string, size: number): { start: number; end: number } {
  const m = /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  const bad = () => rangeNotSatisfiable(`range ${header.slice(0, 100)} cannot be served`, { size });
  if (!m || (m[1] === '' && m[2] === '')) throw bad();
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw bad();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) throw bad();
  }
  if (start >= size || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw bad();
  return { start, end };
}
