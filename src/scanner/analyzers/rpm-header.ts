/**
 * An RPM header as rpmdb stores it (rpm's "header blob", the on-disk header without its 8-byte
 * magic): index count and data length (big-endian uint32), 16-byte index entries
 * (tag, type, offset, count), then the data store. rpm/lib/header.c, "Header structure".
 */
export interface RpmHeader {
  string(tag: number): string | undefined;
  strings(tag: number): string[];
  int32s(tag: number): number[];
}

export const RPMTAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  ARCH: 1022,
  SOURCERPM: 1044,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;
// rpm's own sanity bounds (header.c hdrchkTags / hdrchkData)
const MAX_TAGS = 0x10000;
const MAX_DATA = 256 * 1024 * 1024;

interface IndexEntry {
  type: number;
  offset: number;
  count: number;
}

export function parseRpmHeader(blob: Uint8Array): RpmHeader {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 8) throw new Error('rpm header shorter than its preamble');
  const il = b.readUInt32BE(0);
  const dl = b.readUInt32BE(4);
  if (il === 0 || il > MAX_TAGS || dl > MAX_DATA) throw new Error('rpm header with impossible sizes');
  const dataStart = 8 + il * 16;
  if (b.length < dataStart + dl) throw new Error('rpm header cut short');
  const data = b.subarray(dataStart, dataStart + dl);
  const index = new Map<number, IndexEntry>();
  for (let i = 0; i < il; i++) {
    const o = 8 + i * 16;
    const tag = b.readUInt32BE(o);
    const entry = { type: b.readUInt32BE(o + 4), offset: b.readUInt32BE(o + 8), count: b.readUInt32BE(o + 12) };
    if (entry.offset > dl) throw new Error(`rpm header tag ${tag} points outside its data`);
    if (!index.has(tag)) index.set(tag, entry);
  }
  const readStrings = (e: IndexEntry, max: number): string[] => {
    const out: string[] = [];
    let p = e.offset;
    for (let i = 0; i < Math.min(e.count, max); i++) {
      const z = data.indexOf(0, p);
      if (z < 0) throw new Error('rpm header string without its NUL');
      out.push(data.toString('utf8', p, z));
      p = z + 1;
    }
    return out;
  };
  return {
    string(tag) {
      const e = index.get(tag);
      if (!e || (e.type !== TYPE_STRING && e.type !== TYPE_I18NSTRING && e.type !== TYPE_STRING_ARRAY)) return undefined;
      return readStrings(e, 1)[0];
    },
    strings(tag) {
      const e = index.get(tag);
      if (!e || (e.type !== TYPE_STRING_ARRAY && e.type !== TYPE_STRING)) return [];
      return readStrings(e, e.count);
    },
    int32s(tag) {
      const e = index.get(tag);
      if (!e || e.type !== TYPE_INT32) return [];
      if (e.offset + e.count * 4 > dl) throw new Error(`rpm header tag ${tag} overruns its data`);
      const out: number[] = [];
      for (let i = 0; i < e.count; i++) out.push(data.readInt32BE(e.offset + i * 4));
      return out;
    },
  };
}
