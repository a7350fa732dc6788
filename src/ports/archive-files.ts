/** Reads chosen small files out of a tar archive (gzip, zstd or plain), for the artifact additions. */
export interface ArchiveFiles {
  /**
   * The regular files whose cleaned path (no leading `/`) `want` accepts, read whole. Bounded:
   * a file over `maxFileBytes` is left out, the archive is read to at most `maxBytes`
   * decompressed; a hostile or cut archive yields what was read before the problem.
   */
  read(source: AsyncIterable<Uint8Array>, want: (path: string) => boolean, opts: { maxFileBytes: number; maxBytes: number }): Promise<Map<string, Buffer>>;
}
