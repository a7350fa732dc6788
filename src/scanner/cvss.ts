import cvssCalculator from 'ae-cvss-calculator';
import type { CvssScore, CvssVersion } from '../domain/severity.js';

// ae-cvss-calculator is a webpack UMD bundle: Node's ESM loader sees only its default export.
const { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } = cvssCalculator;

type AnyVector = InstanceType<typeof Cvss2> | InstanceType<typeof Cvss3P0> | InstanceType<typeof Cvss3P1> | InstanceType<typeof Cvss4P0>;

function vectorOf(vector: string): { version: CvssVersion; v: AnyVector } | undefined {
  if (vector.startsWith('CVSS:4.0/')) return { version: '4.0', v: new Cvss4P0(vector) };
  if (vector.startsWith('CVSS:3.1/')) return { version: '3.1', v: new Cvss3P1(vector) };
  if (vector.startsWith('CVSS:3.0/')) return { version: '3.0', v: new Cvss3P0(vector) };
  // CVSS v2 vectors carry no prefix (NVD writes "AV:N/AC:L/Au:N/C:P/I:P/A:P"); some add "(...)"
  if (/^\(?AV:[LAN]\//.test(vector)) return { version: '2.0', v: new Cvss2(vector.replace(/^\((.*)\)$/, '$1')) };
  return undefined;
}

/**
 * The base score of a CVSS v2, v3.0, v3.1 or v4.0 vector, or undefined for anything that is not
 * a complete, well-formed vector (unknown metric, bad value, missing base metric). For v4.0 the
 * base score is CVSS-B, the score of the base metrics alone.
 */
export function scoreCvss(vector: string): CvssScore | undefined {
  const trimmed = vector.trim();
  let parsed: ReturnType<typeof vectorOf>;
  try {
    parsed = vectorOf(trimmed);
    if (!parsed || !parsed.v.isBaseFullyDefined()) return undefined;
  } catch {
    return undefined;
  }
  const scores = parsed.v.calculateScores() as { base?: number; baseMetricsOnly?: number };
  const base = parsed.version === '4.0' ? scores.baseMetricsOnly : scores.base;
  if (typeof base !== 'number' || !Number.isFinite(base)) return undefined;
  return { version: parsed.version, vector: trimmed, baseScore: base };
}
