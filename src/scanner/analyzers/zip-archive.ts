import { inflateRawSync } from 'node:zlib';

/**
 * A zip archive held in memory (APPNOTE.TXT 6.3): the central directory is read from the end,
 * entries are inflated on request with a bounded output. Data prepended to the archive (Spring
 * Boot launch scripts) is allowed for, as unzip does, by the shift between where the central
 * directory is and where the archive says it is.
 */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;

export function readZipDirectory(b: Buffer): ZipEntry[] {
  const min = Math.max(0, b.length - 22 - 0xffff);
  let e = -1;
  for (let i = b.length - 22; i >= min; i--) {
    if (b.readUInt32LE(i) === EOCD) {
      e = i;
      break;
    }
  }
  if (e < 0) throw new Error('zip: no end of central directory');
  let count = b.readUInt16LE(e + 10);
  let cdSize = b.readUInt32LE(e + 12);
  let cdOffset = b.readUInt32LE(e + 16);
  let cdEnd = e;
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && e >= 20 && b.readUInt32LE(e - 20) === ZIP64_LOCATOR) {
    const z = Number(b.readBigUInt64LE(e - 20 + 8));
    // the ZIP64 end record sits just before its locator, whatever the recorded offset says
    const at = e - 20 - 56;
    if (at < 0 || b.readUInt32LE(at) !== ZIP64_EOCD) throw new Error(`zip: bad ZIP64 end record (${z})`);
    count = Number(b.readBigUInt64LE(at + 32));
    cdSize = Number(b.readBigUInt64LE(at + 40));
    cdOffset = Number(b.readBigUInt64LE(at + 48));
    cdEnd = at;
  }
  const cdStart = cdEnd - cdSize;
  if (cdStart < 0) throw new Error('zip: central directory larger than the archive');
  const shift = cdStart - cdOffset;
  const out: ZipEntry[] = [];
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || b.readUInt32LE(p) !== CDH) throw new Error('zip: central directory entry out of place');
    const nameLen = b.readUInt16LE(p + 28);
    const extraLen = b.readUInt16LE(p + 30);
    const commentLen = b.readUInt16LE(p + 32);
    let compressedSize = b.readUInt32LE(p + 20);
    let size = b.readUInt32LE(p + 24);
    let localOffset = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + nameLen);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      // ZIP64 extended information extra field (id 1): the 0xffffffff fields, in order
      let x = p + 46 + nameLen;
      const xe = x + extraLen;
      while (x + 4 <= xe) {
        const id = b.readUInt16LE(x);
        const len = b.readUInt16LE(x + 2);
        if (id === 1) {
          let q = x + 4;
          const next = (): number => {
            const v = q + 8 <= xe ? Number(b.readBigUInt64LE(q)) : -1;
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localOffset === 0xffffffff) localOffset = next();
          break;
        }
        x += 4 + len;
      }
    }
    out.push({ name, method: b.readUInt16LE(p + 10), compressedSize, size, localOffset: localOffset + shift });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The entry's bytes; throws when the archive lies about them or they inflate past `maxBytes`. */
export function readZipEntry(b: Buffer, e: ZipEntry, maxBytes: number): Buffer {
  const o = e.localOffset;
  if (o < 0 || o + 30 > b.length || b.readUInt32LE(o) !== LFH) throw new Error(`zip: local header of ${e.name} out of place`);
  const start = o + 30 + b.readUInt16LE(o + 26) + b.readUInt16LE(o + 28);
  const end = start + e.compressedSize;
  if (e.compressedSize < 0 || end > b.length) throw new Error(`zip: ${e.name} runs past the archive`);
  const raw = b.subarray(start, end);
  if (e.method === 0) {
    if (raw.length > maxBytes) throw new RangeError(`zip: ${e.name} is larger than ${maxBytes} bytes`);
    return raw;
  }
  if (e.method === 8) return inflateRawSync(raw, { maxOutputLength: Math.max(1, maxBytes) });
  throw new Error(`zip: ${e.name} uses compression method ${e.method}`);
}
