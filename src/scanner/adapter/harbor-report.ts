import type { PackageType } from '../../domain/sbom.js';
import { type CvssScore, type CvssVersion, isSeverity, type Severity } from '../../domain/severity.js';
import type { Finding } from '../../domain/vulnerability.js';

const PACKAGE_TYPES: readonly PackageType[] = ['deb', 'apk', 'rpm', 'npm', 'pypi', 'golang', 'maven', 'cargo', 'gem'];
/** A report is data from another system: bounded. */
const MAX_FINDINGS = 200_000;
const MAX_TEXT = 16_384;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = MAX_TEXT): string => (typeof v === 'string' ? v.slice(0, max) : typeof v === 'number' ? String(v) : '');
const strings = (v: unknown, maxItems = 100): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, maxItems).map((s) => s.slice(0, 2048)) : []);

/**
 * Harbor's severity words (Unknown, Negligible, Low, Medium, High, Critical) in Berth's scale;
 * Negligible counts as Low, as Harbor's own vulnerability summary does.
 */
export function severityOf(word: unknown): Severity {
  const w = str(word, 32);
  if (w === 'Negligible') return 'Low';
  return isSeverity(w) ? w : 'Unknown';
}

function cvssOf(item: Json): CvssScore | undefined {
  const pref = isObject(item['preferred_cvss']) ? item['preferred_cvss'] : {};
  const pick = (vector: unknown, score: unknown, fallback: CvssVersion): CvssScore | undefined => {
    const v = str(vector, 512);
    const s = typeof score === 'number' ? score : Number.parseFloat(str(score, 16));
    if (!v || !Number.isFinite(s)) return undefined;
    const m = /^CVSS:(3\.0|3\.1|4\.0)\//.exec(v);
    return { version: (m?.[1] as CvssVersion | undefined) ?? fallback, vector: v, baseScore: s };
  };
  return (
    pick(pref['vector_v3'], pref['score_v3'], '3.1') ??
    pick(item['cvss3_vector'], item['cve3_score'], '3.0') ??
    pick(pref['vector_v2'], pref['score_v2'], '2.0') ??
    pick(item['cvss2_vector'], item['cve2_score'], '2.0')
  );
}

/** purl-spec type of a purl, when it is one Berth knows. */
function purlType(purl: string): PackageType | undefined {
  const m = /^pkg:([a-z0-9.+-]+)\//.exec(purl);
  const t = m?.[1];
  return t && (PACKAGE_TYPES as readonly string[]).includes(t) ? (t as PackageType) : undefined;
}

/**
 * The findings of a Harbor vulnerability report (`HarborVulnerabilityReport`, report media types
 * v1.0 and v1.1). The spec gives no package type or purl: Berth's own adapter puts them in
 * `vendor_attributes` (with the layer, the path, KEV and EPSS); for other adapters the purl is
 * `pkg:generic/<package>@<version>` and the type is read from it when the adapter gave a purl.
 */
export function findingsFromReport(report: unknown, scannerName: string): Finding[] {
  if (!isObject(report)) throw new Error('the report is not a JSON object');
  const items = report['vulnerabilities'];
  if (items !== undefined && items !== null && !Array.isArray(items)) throw new Error('the report\'s vulnerabilities is not a list');
  const out: Finding[] = [];
  for (const item of (items ?? []) as unknown[]) {
    if (out.length >= MAX_FINDINGS) break;
    if (!isObject(item)) continue;
    const id = str(item['id'], 256);
    const pkg = str(item['package'], 1024);
    if (!id || !pkg) continue;
    const version = str(item['version'], 256);
    const va = isObject(item['vendor_attributes']) ? item['vendor_attributes'] : {};
    const purl = str(va['purl'], 2048) || `pkg:generic/${encodeURIComponent(pkg)}${version ? `@${encodeURIComponent(version)}` : ''}`;
    const declared = str(va['package_type'], 16);
    const packageType = (PACKAGE_TYPES as readonly string[]).includes(declared) ? (declared as PackageType) : (purlType(purl) ?? 'deb');
    const cvss = cvssOf(item);
    const epss = isObject(va['epss']) && typeof va['epss']['score'] === 'number' && typeof va['epss']['percentile'] === 'number'
      ? { score: va['epss']['score'], percentile: va['epss']['percentile'] }
      : undefined;
    const fix = str(item['fix_version'], 1024);
    out.push({
      id,
      aliases: strings(va['aliases']),
      package: pkg,
      packageType,
      purl,
      version,
      fixVersions: fix ? fix.split(/,\s*/).map((s) => s.trim()).filter(Boolean) : [],
      severity: severityOf(item['severity']),
      ...(cvss ? { cvss } : {}),
      summary: str(va['summary']),
      description: str(item['description']),
      links: strings(item['links']),
      layerDigest: str(va['layer_digest'], 200),
      path: str(va['path'], 4096),
      kev: va['kev'] === true,
      ...(epss ? { epss } : {}),
      source: str(va['source'], 128) || scannerName,
    });
  }
  return out;
}
