import type { ScanWarning, WarningCode } from '../domain/sbom.js';

const PER_CODE = 20;

/** Keeps the first warnings of each code and counts the rest: a million bad names make one line. */
export class WarningList {
  private readonly kept: ScanWarning[] = [];
  private readonly counts = new Map<WarningCode, number>();

  add(w: ScanWarning): void {
    const n = (this.counts.get(w.code) ?? 0) + 1;
    this.counts.set(w.code, n);
    if (n <= PER_CODE) this.kept.push(w);
  }

  list(): ScanWarning[] {
    const out = [...this.kept];
    for (const [code, n] of this.counts) {
      if (n > PER_CODE) out.push({ code, message: `${n - PER_CODE} more '${code}' warnings not listed` });
    }
    return out;
  }
}
