/**
 * Harbor's severity words, lowest first (Harbor pkg/scan/vuln: None < Unknown < Low < Medium <
 * High < Critical). The order is what `prevent_vul` thresholds compare against.
 */
export const SEVERITIES = ['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function compareSeverity(a: Severity, b: Severity): number {
  return severityRank(a) - severityRank(b);
}

export function atLeast(s: Severity, threshold: Severity): boolean {
  return severityRank(s) >= severityRank(threshold);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}

export type CvssVersion = '2.0' | '3.0' | '3.1' | '4.0';

/**
 * The qualitative rating of a CVSS base score. v3.0, v3.1 and v4.0 share one scale (v3.1
 * specification §5, v4.0 specification §6): 0.0 None, 0.1-3.9 Low, 4.0-6.9 Medium, 7.0-8.9
 * High, 9.0-10.0 Critical. v2 has no None or Critical (NVD: 0-3.9 Low, 4.0-6.9 Medium, 7.0-10.0
 * High).
 */
export function severityFromScore(score: number, version: CvssVersion = '3.1'): Severity {
  if (!Number.isFinite(score) || score < 0 || score > 10) return 'Unknown';
  if (version === '2.0') return score >= 7 ? 'High' : score >= 4 ? 'Medium' : 'Low';
  if (score === 0) return 'None';
  if (score < 4) return 'Low';
  if (score < 7) return 'Medium';
  if (score < 9) return 'High';
  return 'Critical';
}

// Words databases put in database_specific.severity / ecosystem_specific.severity:
// GitHub (LOW, MODERATE, HIGH, CRITICAL), Go and others (MEDIUM), Debian's urgencies
// (unimportant, low, medium, high), Ubuntu's priorities (negligible).
const LABELS: Readonly<Record<string, Severity>> = {
  none: 'None',
  negligible: 'Low',
  unimportant: 'Low',
  low: 'Low',
  moderate: 'Medium',
  medium: 'Medium',
  important: 'High',
  high: 'High',
  critical: 'Critical',
};

/** A database's own severity word, or undefined when it is not one Berth knows. */
export function severityFromLabel(label: string): Severity | undefined {
  return LABELS[label.trim().toLowerCase()];
}

/** A scored CVSS vector, as the scanner's CVSS library reports it. */
export interface CvssScore {
  readonly version: CvssVersion;
  readonly vector: string;
  readonly baseScore: number;
}

/**
 * The severity of a finding: from the newest CVSS version among the vectors (v4.0, then v3.1,
 * v3.0, v2), else from the database's own word, else Unknown.
 */
export function resolveSeverity(scores: readonly CvssScore[], labels: readonly string[] = []): { severity: Severity; cvss?: CvssScore } {
  const order: readonly CvssVersion[] = ['4.0', '3.1', '3.0', '2.0'];
  const best = [...scores].sort((a, b) => order.indexOf(a.version) - order.indexOf(b.version))[0];
  if (best) return { severity: severityFromScore(best.baseScore, best.version), cvss: best };
  for (const l of labels) {
    const s = severityFromLabel(l);
    if (s) return { severity: s };
  }
  return { severity: 'Unknown' };
}
