import { describe, expect, it } from 'vitest';
import { type PartLimits, type PlannedPart, planConcat, S3_LIMITS, type SourceObject } from './s3-concat-plan.js';

const MiB = 1024 * 1024;
const limits: PartLimits = { ...S3_LIMITS, partSize: 16 * MiB };

/** What S3 itself would check, plus: the parts spell out every source's bytes in order. */
function checkPlan(sources: SourceObject[], plan: PlannedPart[], l: PartLimits = limits): void {
  expect(plan.length).toBeLessThanOrEqual(l.maxParts);
  plan.forEach((part, i) => {
    const size = part.kind === 'copy' ? part.piece.end - part.piece.start : part.size;
    expect(size).toBeLessThanOrEqual(l.maxPart);
    if (i < plan.length - 1) expect(size).toBeGreaterThanOrEqual(l.minPart);
    if (part.kind === 'upload') expect(part.pieces.reduce((a, p) => a + p.end - p.start, 0)).toBe(part.size);
  });
  const pieces = plan.flatMap((part) => (part.kind === 'copy' ? [part.piece] : part.pieces));
  const wanted = sources.filter((s) => s.size > 0);
  const wrong: string[] = [];
  let at = 0;
  for (const s of wanted) {
    let next = 0;
    while (next < s.size && at < pieces.length) {
      const piece = pieces[at++]!;
      if (piece.key !== s.key || piece.start !== next || piece.end <= piece.start) wrong.push(`${JSON.stringify(piece)} where ${s.key}@${next} was due`);
      next = piece.end;
    }
    if (next !== s.size) wrong.push(`${s.key} ends at ${next}, not ${s.size}`);
  }
  expect(wrong).toEqual([]);
  expect(at).toBe(pieces.length);
}

const src = (...sizes: number[]): SourceObject[] => sizes.map((size, i) => ({ key: `s${i}`, size }));

describe('planConcat', () => {
  it('copies every source of at least 5 MiB server-side', () => {
    const sources = src(5 * MiB, 100 * MiB, 6 * MiB);
    const plan = planConcat(sources, limits);
    expect(plan.map((p) => p.kind)).toEqual(['copy', 'copy', 'copy']);
    checkPlan(sources, plan);
  });

  it('merges small sources into parts of partSize, the last one shorter', () => {
    const sources = src(...Array.from({ length: 10 }, () => 4 * MiB));
    const plan = planConcat(sources, limits);
    expect(plan.map((p) => (p.kind === 'upload' ? p.size / MiB : -1))).toEqual([16, 16, 8]);
    checkPlan(sources, plan);
  });

  it('lets a short run borrow the head of the big source after it, and copies the rest', () => {
    const sources = src(1 * MiB, 20 * MiB);
    const plan = planConcat(sources, limits);
    expect(plan).toEqual([
      { kind: 'upload', size: 5 * MiB, pieces: [{ key: 's0', start: 0, end: MiB }, { key: 's1', start: 0, end: 4 * MiB }] },
      { kind: 'copy', piece: { key: 's1', start: 4 * MiB, end: 20 * MiB } },
    ]);
  });

  it('reads a big source whole when what would be left after borrowing is too small to copy', () => {
    const sources = src(1 * MiB, 8 * MiB, 10 * MiB);
    const plan = planConcat(sources, limits);
    expect(plan.map((p) => p.kind)).toEqual(['upload', 'copy']);
    checkPlan(sources, plan);
  });

  it('skips empty sources and keeps a small tail in the middle on the part before it', () => {
    const sources = src(0, 3 * MiB, 0, 15 * MiB, 0);
    checkPlan(sources, planConcat(sources, limits));
    const tail = src(4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 1 * MiB, 20 * MiB);
    const plan = planConcat(tail, limits);
    expect(plan.map((p) => (p.kind === 'upload' ? p.size : -(p.piece.end - p.piece.start)))).toEqual([17 * MiB, -20 * MiB]);
    checkPlan(tail, plan);
  });

  it('splits a source larger than the part maximum into equal copies', () => {
    const sources = src(12 * 1024 * MiB + 3);
    const plan = planConcat(sources, limits);
    expect(plan).toHaveLength(3);
    checkPlan(sources, plan);
  });

  it('stays within 10,000 parts for 20,000 chunks of 5 MiB by merging', () => {
    const sources = src(...Array.from({ length: 20_000 }, () => 5 * MiB));
    const plan = planConcat(sources, limits);
    checkPlan(sources, plan);
  });

  it.each([1, 2, 3, 4, 5])('holds S3 rules for random mixes (seed %d)', (seed) => {
    let x = seed * 2654435761;
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sizes = Array.from({ length: 200 }, () => {
      const r = rnd();
      return r < 0.1 ? 0 : r < 0.6 ? Math.floor(rnd() * 5 * MiB) : Math.floor(5 * MiB + rnd() * 40 * MiB);
    });
    const sources = src(...sizes);
    checkPlan(sources, planConcat(sources, { ...limits, partSize: 7 * MiB }), { ...limits, partSize: 7 * MiB });
    const tight = { ...limits, maxPart: 12 * MiB, partSize: 6 * MiB };
    checkPlan(sources, planConcat(sources, tight), tight);
  });
});
