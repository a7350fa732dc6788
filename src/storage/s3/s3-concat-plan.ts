/**
 * How to assemble one object from others with a multipart upload. S3 demands that every part but
 * the last be at least 5 MiB and at most 5 GiB, and allows 10,000 parts (AWS S3 "Amazon S3
 * multipart upload limits"). A source big enough is copied server-side (UploadPartCopy with a
 * byte range); runs of small sources are read and uploaded as merged parts. A run too small to be
 * a part borrows the first bytes of the big source that follows it.
 */

export interface SourceObject {
  key: string;
  size: number;
}

/** bytes [start, end) of one source */
export interface Piece {
  key: string;
  start: number;
  end: number;
}

export type PlannedPart = { kind: 'copy'; piece: Piece } | { kind: 'upload'; pieces: Piece[]; size: number };

export interface PartLimits {
  minPart: number;
  maxPart: number;
  maxParts: number;
  /** size of the parts that merged small sources are cut into */
  partSize: number;
}

export const S3_LIMITS: Omit<PartLimits, 'partSize'> = {
  minPart: 5 * 1024 * 1024,
  maxPart: 5 * 1024 * 1024 * 1024,
  maxParts: 10_000,
};

export function planConcat(sources: readonly SourceObject[], limits: PartLimits): PlannedPart[] {
  const partSize = Math.min(Math.max(limits.partSize, limits.minPart), limits.maxPart - limits.minPart);
  // too many parts (thousands of small chunks): copy less and merge into bigger parts
  for (let copyMin = limits.minPart, size = partSize; copyMin <= limits.maxPart; copyMin *= 2, size = Math.min(size * 2, limits.maxPart - limits.minPart)) {
    const plan = planOnce(sources, limits, copyMin, size);
    if (plan.length <= limits.maxParts) return plan;
  }
  throw new Error(`cannot assemble ${sources.length} sources within ${limits.maxParts} parts`);
}

function planOnce(sources: readonly SourceObject[], limits: PartLimits, copyMin: number, partSize: number): PlannedPart[] {
  const parts: PlannedPart[] = [];
  let run: Piece[] = [];
  let runSize = 0;
  const take = (p: Piece) => {
    run.push(p);
    runSize += p.end - p.start;
  };
  const flush = (last: boolean) => {
    if (runSize === 0) return;
    const cut = cutRun(run, runSize, partSize);
    // a short tail may end the object, but in the middle it rides on the part before it
    const tail = cut[cut.length - 1]!;
    if (!last && tail.size < limits.minPart && cut.length > 1) {
      const prev = cut[cut.length - 2]!;
      cut.splice(cut.length - 2, 2, { kind: 'upload', pieces: [...prev.pieces, ...tail.pieces], size: prev.size + tail.size });
    }
    parts.push(...cut);
    run = [];
    runSize = 0;
  };

  for (const s of sources) {
    if (s.size === 0) continue;
    if (s.size < copyMin) {
      take({ key: s.key, start: 0, end: s.size });
      continue;
    }
    let start = 0;
    if (runSize > 0 && runSize < limits.minPart) {
      const need = limits.minPart - runSize;
      if (s.size - need < copyMin) {
        take({ key: s.key, start: 0, end: s.size });
        continue;
      }
      take({ key: s.key, start: 0, end: need });
      start = need;
    }
    flush(false);
    parts.push(...copyRanges(s.key, start, s.size, limits.maxPart));
  }
  flush(true);
  return parts;
}

/** Cuts a run of pieces into upload parts of `partSize` bytes (the last one shorter). */
function cutRun(run: readonly Piece[], total: number, partSize: number): Array<Extract<PlannedPart, { kind: 'upload' }>> {
  const out: Array<Extract<PlannedPart, { kind: 'upload' }>> = [];
  let cur: Piece[] = [];
  let curSize = 0;
  for (const p of run) {
    let start = p.start;
    while (start < p.end) {
      const n = Math.min(p.end - start, partSize - curSize);
      cur.push({ key: p.key, start, end: start + n });
      curSize += n;
      start += n;
      if (curSize === partSize) {
        out.push({ kind: 'upload', pieces: cur, size: curSize });
        cur = [];
        curSize = 0;
      }
    }
  }
  if (curSize > 0) out.push({ kind: 'upload', pieces: cur, size: curSize });
  if (out.reduce((a, p) => a + p.size, 0) !== total) throw new Error('concat plan lost bytes');
  return out;
}

/** [start, end) of one source in equal server-side copies of at most `maxPart` bytes. */
function copyRanges(key: string, start: number, end: number, maxPart: number): PlannedPart[] {
  const n = Math.ceil((end - start) / maxPart);
  const step = Math.ceil((end - start) / n);
  const out: PlannedPart[] = [];
  for (let s = start; s < end; s += step) out.push({ kind: 'copy', piece: { key, start: s, end: Math.min(s + step, end) } });
  return out;
}
