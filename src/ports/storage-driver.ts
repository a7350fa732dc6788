import type { Readable, Writable } from 'node:stream';

/**
 * The storage port. Paths are `/`-separated, relative to the driver's root, and produced only by
 * Berth (digests and upload ids), never taken from a request. Every call can be cancelled.
 *
 * The contract, checked for every driver by test/suites/storage-driver.suite.ts:
 * - a committed file is complete: a reader never sees a partial `writer` result, and a
 *   cancelled or abandoned writer leaves no file at its path;
 * - `move` and `concat` replace the destination atomically;
 * - `stat` of a missing path is `undefined`; `reader` of a missing path throws PathNotFoundError.
 */
export interface StorageDriver {
  readonly name: string;
  stat(path: string, signal?: AbortSignal): Promise<FileInfo | undefined>;
  reader(path: string, opts?: ReadOptions): Promise<Readable>;
  /** A writer for a new file at `path`; nothing is visible there until `commit()`. */
  writer(path: string, opts?: WriterOptions): Promise<FileWriter>;
  getContent(path: string, signal?: AbortSignal): Promise<Buffer>;
  /** A whole small file, atomically; `durable: false` skips the fsync (see WriterOptions.temporary). */
  putContent(path: string, content: Uint8Array, signal?: AbortSignal, opts?: { durable?: boolean }): Promise<void>;
  /** Direct children of a directory-like prefix, as full paths; `[]` when there is none. */
  list(path: string, signal?: AbortSignal): Promise<string[]>;
  /** Renames `from` to `to`; the result is durable even if `from` was written `temporary`. */
  move(from: string, to: string, signal?: AbortSignal): Promise<void>;
  /** Writes the concatenation of `sources` to `to`, durably, then removes the sources. */
  concat(sources: readonly string[], to: string, signal?: AbortSignal): Promise<void>;
  /** Deletes a file or everything under a prefix; deleting what is not there is not an error. */
  delete(path: string, signal?: AbortSignal): Promise<void>;
  /** A URL the client may fetch the file from directly, when the driver can give one. */
  redirectUrl?(path: string, opts: { expiresInSeconds: number; signal?: AbortSignal }): Promise<string | undefined>;
  /** Size and free space of the volume behind the driver, when it has one (not object storage). */
  capacity?(): Promise<{ total: number; free: number }>;
  /** Removes leftovers of writers that never committed (a crash), older than the given age. */
  sweepTemporary?(olderThanMs: number): Promise<number>;
  close?(): Promise<void>;
}

export interface WriterOptions {
  signal?: AbortSignal;
  /**
   * The file is an intermediate (an upload segment): it need not survive an OS crash, because
   * whatever uses it verifies it first; `move`/`concat` make the final file durable.
   */
  temporary?: boolean;
}

export interface FileInfo {
  path: string;
  size: number;
  modifiedAt: Date;
  isDirectory: boolean;
}

export interface ReadOptions {
  offset?: number;
  /** bytes to read from `offset`; to the end when absent */
  length?: number;
  signal?: AbortSignal;
}

export interface FileWriter {
  /** where the bytes go; end it (e.g. through `pipeline`) before `commit()` */
  readonly stream: Writable;
  /** bytes accepted so far */
  readonly size: number;
  /** makes the file visible at its path, durably */
  commit(): Promise<void>;
  /** discards everything written; safe to call after a failed or finished stream */
  cancel(): Promise<void>;
}

export class PathNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`path not found: ${path}`);
    this.name = 'PathNotFoundError';
  }
}
