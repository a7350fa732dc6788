import { open, type FileHandle } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { readZipDirectory, type ZipEntry } from '../analyzers/zip-archive.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const LFH = 0x04034b50;
const TAIL = 22 + 0xffff + 20 + 56;
/** A central directory beyond this is not an advisory archive (osv.dev's largest is a few MB). */
const MAX_DIRECTORY = 256 * 1024 * 1024;

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(b, done, length - done, position + done);
    if (bytesRead === 0) throw new Error('zip: archive ends early');
    done += bytesRead;
  }
  return b;
}

/**
 * A zip file read from disk one entry at a time: only the central directory and the entry being
 * read are in memory (APPNOTE.TXT 6.3; the directory parser is the layer analyzers').
 */
export class ZipFile {
  private constructor(
    private readonly fh: FileHandle,
    readonly entries: readonly ZipEntry[],
  ) {}

  static async open(path: string): Promise<ZipFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const tailLen = Math.min(size, TAIL);
      const tail = await readAt(fh, size - tailLen, tailLen);
      let e = -1;
      for (let i = tail.length - 22; i >= 0; i--) {
        if (tail.readUInt32LE(i) === EOCD) {
          e = i;
          break;
        }
      }
      if (e < 0) throw new Error('zip: no end of central directory (not a zip file?)');
      let cdSize = tail.readUInt32LE(e + 12);
      let cdEnd = e;
      if (cdSize === 0xffffffff && e >= 76 && tail.readUInt32LE(e - 20) === ZIP64_LOCATOR) {
        cdEnd = e - 20 - 56;
        cdSize = Number(tail.readBigUInt64LE(cdEnd + 40));
      }
      if (cdSize > MAX_DIRECTORY) throw new Error(`zip: central directory of ${cdSize} bytes is too large`);
      const need = Math.min(size, tail.length - cdEnd + cdSize);
      const start = size - need;
      const entries = readZipDirectory(await readAt(fh, start, need)).map((x) => ({ ...x, localOffset: x.localOffset + start }));
      return new ZipFile(fh, entries);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** The entry's bytes; throws when the archive lies about them or they inflate past `maxBytes`. */
  async read(e: ZipEntry, maxBytes: number): Promise<Buffer> {
    if (e.compressedSize < 0 || e.compressedSize > maxBytes) throw new RangeError(`zip: ${e.name} is larger than ${maxBytes} bytes`);
    const h = await readAt(this.fh, e.localOffset, 30);
    if (h.readUInt32LE(0) !== LFH) throw new Error(`zip: local header of ${e.name} out of place`);
    const raw = await readAt(this.fh, e.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28), e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) return inflateRawSync(raw, { maxOutputLength: Math.max(1, maxBytes) });
    throw new Error(`zip: ${e.name} uses compression method ${e.method}`);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
