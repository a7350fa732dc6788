/**
 * The values of a Berkeley DB hash database (format version 8-10, as Berkeley DB 4.x-5.x and
 * rpm's `Packages` write it), read from its bytes alone: every hash page's key/data pairs in
 * page order, large values gathered from their overflow page chains. Bounded: a page number or
 * length outside the file, a chain that loops or runs longer than the file, or a value over
 * `maxValueBytes` is an error or a skipped value, never a hang.
 */

const HASH_MAGIC = 0x061561;
const PAGE_HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;

export class BdbError extends Error {}

export interface BdbValues {
  /** each value with its key (empty when the key itself lies on overflow pages) */
  values: { key: Buffer; value: Buffer }[];
  /** values that could not be read (a broken overflow chain, a duplicate set, too large) */
  skipped: number;
}

export function readBdbHashValues(file: Buffer, opts: { maxValueBytes: number; maxValues: number }): BdbValues {
  if (file.length < 512) throw new BdbError('not a Berkeley DB file: too short');
  const le = file.readUInt32LE(12) === HASH_MAGIC;
  if (!le && file.readUInt32BE(12) !== HASH_MAGIC) throw new BdbError('not a Berkeley DB hash database');
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const u16 = (o: number) => (le ? file.readUInt16LE(o) : file.readUInt16BE(o));
  const version = u32(16);
  if (version < 8 || version > 10) throw new BdbError(`Berkeley DB hash version ${version} is not read`);
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new BdbError(`invalid page size ${pageSize}`);
  if (file[24] !== 0) throw new BdbError('encrypted Berkeley DB databases are not read');
  if (file[25] !== P_HASHMETA) throw new BdbError('the first page is not a hash metadata page');
  // checksummed pages carry a longer header (not written by rpm)
  if ((file[26]! & 0x01) !== 0) throw new BdbError('checksummed Berkeley DB databases are not read');
  const pages = Math.min(Math.floor(file.length / pageSize), u32(32) + 1);

  const pageAt = (n: number) => {
    if (n <= 0 || n >= pages) throw new BdbError(`page ${n} is outside the file`);
    return n * pageSize;
  };

  const overflow = (first: number, total: number): Buffer | undefined => {
    if (total > opts.maxValueBytes) return undefined;
    const out = Buffer.allocUnsafe(total);
    let got = 0;
    let n = first;
    const seen = new Set<number>();
    while (n !== 0 && got < total) {
      if (seen.has(n)) throw new BdbError(`overflow chain loops at page ${n}`);
      seen.add(n);
      const o = pageAt(n);
      if (file[o + 25] !== P_OVERFLOW) throw new BdbError(`page ${n} of an overflow chain is not an overflow page`);
      const len = u16(o + 22);
      if (len > pageSize - PAGE_HEADER || got + len > total) throw new BdbError(`overflow page ${n} holds more than its value`);
      file.copy(out, got, o + PAGE_HEADER, o + PAGE_HEADER + len);
      got += len;
      n = u32(o + 16);
    }
    if (got !== total) throw new BdbError('overflow chain ends before its value');
    return out;
  };

  const values: { key: Buffer; value: Buffer }[] = [];
  let skipped = 0;
  for (let p = 1; p < pages; p++) {
    const o = p * pageSize;
    const type = file[o + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(o + 20);
    if (PAGE_HEADER + entries * 2 > pageSize) throw new BdbError(`hash page ${p} claims ${entries} entries`);
    const offsetOf = (i: number) => u16(o + PAGE_HEADER + i * 2);
    // items are pairs, key then data; item i ends where item i-1 begins (the first at the page end)
    for (let i = 1; i < entries; i += 2) {
      const start = offsetOf(i);
      const end = offsetOf(i - 1);
      if (start < PAGE_HEADER + entries * 2 || end > pageSize || start >= end) throw new BdbError(`hash page ${p} has an item outside it`);
      const keyStart = offsetOf(i - 1);
      const keyEnd = i === 1 ? pageSize : offsetOf(i - 2);
      const key = file[o + keyStart] === H_KEYDATA && keyEnd > keyStart && keyEnd <= pageSize ? Buffer.from(file.subarray(o + keyStart + 1, o + keyEnd)) : Buffer.alloc(0);
      const itemType = file[o + start];
      try {
        if (itemType === H_KEYDATA) {
          if (end - start - 1 > opts.maxValueBytes) skipped++;
          else values.push({ key, value: Buffer.from(file.subarray(o + start + 1, o + end)) });
        } else if (itemType === H_OFFPAGE) {
          if (end - start < 12) throw new BdbError(`hash page ${p} has a short off-page item`);
          const v = overflow(u32(o + start + 4), u32(o + start + 8));
          if (v) values.push({ key, value: v });
          else skipped++;
        } else {
          // duplicate sets (H_DUPLICATE, H_OFFDUP): rpm's Packages has none
          skipped++;
        }
      } catch (e) {
        if (!(e instanceof BdbError)) throw e;
        skipped++;
      }
      if (values.length >= opts.maxValues) return { values, skipped };
    }
  }
  return { values, skipped };
}
