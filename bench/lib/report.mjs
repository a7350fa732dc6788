// Collects rows, prints the closing table, writes results/latest.json. A ratio is always "how
// many times better Berth is" (Berth/peer for rates, peer/Berth for times), so > 1 is a win.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { median } from './measure.mjs';

export const PEER = 'distribution';

export class Report {
  constructor() {
    /** @type {any[]} */
    this.rows = [];
  }

  /**
   * @param {{ title: string, unit: string, higher: boolean, values: Record<string, number[]>,
   *   target?: { ratio?: number, max?: number }, note?: string, stat?: (xs: number[]) => number,
   *   cpu?: { unit: string, values: Record<string, number[]> } }} row
   *   values: every run's figure per target ('distribution' is the peer); the figure shown is
   *   the median unless `stat` says otherwise. target.ratio is checked against the peer,
   *   target.max against Berth's figure itself. `baseline` names another label of `values` to
   *   take the peer's place (a Berth-against-Berth comparison, e.g. authorised vs anonymous).
   */
  add(row) {
    const stat = row.stat ?? median;
    const shown = Object.fromEntries(Object.entries(row.values).map(([k, xs]) => [k, stat(xs)]));
    const base = row.baseline ?? PEER;
    const peer = shown[base];
    const lines = [];
    for (const [label, v] of Object.entries(shown)) {
      if (label === base) continue;
      const ratio = peer === undefined ? undefined : row.higher ? v / peer : peer / v;
      let verdict = '';
      if (row.target?.ratio !== undefined && ratio !== undefined) {
        verdict = ratio >= row.target.ratio ? `ok (>= ${row.target.ratio}x)` : `MISSED (>= ${row.target.ratio}x)`;
      } else if (row.target?.max !== undefined) {
        verdict = v <= row.target.max ? `ok (<= ${row.target.max} ${row.unit})` : `MISSED (<= ${row.target.max} ${row.unit})`;
      }
      lines.push({ label, value: v, ratio, verdict, cpu: cpuOf(row, label) });
    }
    const entry = { ...row, stat: undefined, shown, peer, peerCpu: cpuOf(row, base), lines };
    this.rows.push(entry);
    for (const l of lines) {
      process.stdout.write(
        `  ${row.title} [${l.label}]: ${fmt(l.value)} ${row.unit}` +
          (peer !== undefined ? ` vs ${fmt(peer)} -> ${fmt(l.ratio)}x` : '') +
          (l.verdict ? `  ${l.verdict}` : '') +
          `   runs ${row.values[l.label].map(fmt).join(', ')}` +
          (peer !== undefined ? ` | ${row.baseline ? 'baseline' : 'peer'} ${row.values[base].map(fmt).join(', ')}` : '') +
          (l.cpu !== undefined ? `   server CPU ${fmt(l.cpu)} vs ${fmt(entry.peerCpu)} ${row.cpu.unit}` : '') +
          '\n',
      );
    }
  }

  print() {
    const head = ['measurement', 'Berth as', 'Berth', 'distribution', 'ratio', 'unit', 'target', 'server CPU Berth / peer'];
    const body = [];
    for (const r of this.rows) {
      for (const l of r.lines) {
        body.push([
          r.title,
          l.label,
          fmt(l.value),
          r.peer === undefined ? '-' : fmt(r.peer),
          l.ratio === undefined ? '-' : `${fmt(l.ratio)}x`,
          r.unit,
          [l.verdict, r.note].filter(Boolean).join('; '),
          l.cpu === undefined ? '' : `${fmt(l.cpu)} / ${fmt(r.peerCpu)} ${r.cpu.unit}`,
        ]);
      }
    }
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
    process.stdout.write(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
    for (const b of body) process.stdout.write(`${line(b)}\n`);
    const missed = body.filter((b) => b[6].startsWith('MISSED')).length;
    process.stdout.write(`\n${missed ? `${missed} target(s) MISSED` : 'all targets met'}\n`);
  }

  async write(file, meta) {
    await mkdir(dirname(file), { recursive: true });
    const rows = this.rows.map(({ title, unit, higher, values, target, note, cpu, shown, lines }) => ({
      title,
      unit,
      higher,
      target,
      note,
      runs: values,
      shown,
      lines,
      ...(cpu ? { serverCpuPerOp: cpu } : {}),
    }));
    await writeFile(file, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  }
}

/** Median server CPU per op of one target, when the row measured it. */
function cpuOf(row, label) {
  const xs = row.cpu?.values[label];
  return xs && xs.length ? median(xs) : undefined;
}

export function fmt(x) {
  if (x === undefined || Number.isNaN(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toString();
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
