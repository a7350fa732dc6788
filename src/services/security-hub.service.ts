import { badRequest } from '../domain/errors.js';
import { anyOf, asInt, checkConditions, type Condition, parseQuery } from '../domain/query.js';
import { isSeverity, type Severity } from '../domain/severity.js';
import type { NameMatch } from '../ports/catalog-repos.js';
import type { Metadata } from '../ports/metadata.js';
import type { DangerousArtifact, DangerousCve, FindingFilter, FindingHit, SecurityTotals } from '../ports/finding-index.js';

/** Harbor's security hub lists the top five of each. */
export const DANGEROUS_TOP = 5;
/** Harbor's tune_count: past this many matches the total is reported as -1. */
export const TUNE_COUNT_CAP = 1000;

/** Harbor's `q` keys of GET /security/vul and the patterns each takes. */
const QUERY_KEYS = {
  cve_id: ['exact', 'fuzzy'],
  severity: ['exact', 'or'],
  cvss_score_v3: ['exact', 'range'],
  project_id: ['exact', 'or'],
  repository_name: ['exact', 'fuzzy'],
  package: ['exact', 'fuzzy'],
  tag: ['exact'],
  digest: ['exact'],
} as const;

export interface SecuritySummary extends SecurityTotals {
  dangerousCves?: DangerousCve[];
  dangerousArtifacts?: DangerousArtifact[];
}

/**
 * The security hub (Harbor 2.9's `/security/summary` and `/security/vul`): findings over every
 * scanned image of the registry, from the finding index the scan service keeps with each report.
 * Authorisation (system resource `security-hub`) is the route's.
 */
export class SecurityHubService {
  constructor(private readonly deps: { metadata: Metadata }) {}

  async summary(opts: { withDangerousCves: boolean; withDangerousArtifacts: boolean }): Promise<SecuritySummary> {
    const index = this.deps.metadata.findingIndex;
    const [totals, cves, artifacts] = await Promise.all([
      index.totals(),
      opts.withDangerousCves ? index.dangerousCves(DANGEROUS_TOP) : undefined,
      opts.withDangerousArtifacts ? index.dangerousArtifacts(DANGEROUS_TOP) : undefined,
    ]);
    return { ...totals, ...(cves ? { dangerousCves: cves } : {}), ...(artifacts ? { dangerousArtifacts: artifacts } : {}) };
  }

  async vulnerabilities(q: { q?: string; offset: number; limit: number; tuneCount: boolean; withTag: boolean }): Promise<{ items: FindingHit[]; total: number }> {
    const filter = findingFilterOf(q.q);
    // without tune_count the total is exact; with it, counting stops past the cap
    const countUpTo = q.tuneCount ? TUNE_COUNT_CAP + 1 : Number.MAX_SAFE_INTEGER;
    const r = await this.deps.metadata.findingIndex.search(filter, { offset: q.offset, limit: q.limit, withTags: q.withTag, countUpTo });
    return { items: r.items, total: q.tuneCount && r.total > TUNE_COUNT_CAP ? -1 : r.total };
  }
}

/** `q` of GET /security/vul as a filter of the finding index; unknown keys and patterns are a 400. */
export function findingFilterOf(q: string | undefined): FindingFilter {
  const conds = parseQuery(q);
  checkConditions(conds, QUERY_KEYS);
  const f: FindingFilter = {};
  // checkConditions let only exact and fuzzy through for these keys
  const text = (key: string, c: Condition): string => {
    const v = c.op === 'exact' || c.op === 'fuzzy' ? c.value : '';
    if (v.length > 512) throw badRequest(`${key} is longer than 512 characters`);
    return v;
  };
  const match = (key: string, c: Condition): NameMatch => (c.op === 'fuzzy' ? { fuzzy: text(key, c) } : { exact: [text(key, c)] });
  for (const [key, c] of conds) {
    switch (key) {
      case 'cve_id':
        f.cveId = match(key, c);
        break;
      case 'package':
        f.package = match(key, c);
        break;
      case 'repository_name':
        f.repositoryName = match(key, c);
        break;
      case 'tag':
        f.tag = text(key, c);
        break;
      case 'digest':
        f.digest = text(key, c);
        break;
      case 'severity':
        f.severities = (anyOf(c) ?? []).map((v) => severityOf(v));
        break;
      case 'project_id':
        f.projectIds = (anyOf(c) ?? []).map((v) => asInt(key, v));
        break;
      case 'cvss_score_v3': {
        if (c.op === 'exact') {
          const v = score(key, c.value);
          f.cvss = { min: v, max: v };
        } else if (c.op === 'range') {
          f.cvss = { ...(c.min !== undefined ? { min: score(key, c.min) } : {}), ...(c.max !== undefined ? { max: score(key, c.max) } : {}) };
        }
        break;
      }
    }
  }
  return f;
}

/** Harbor's severity words, in any case (the UI sends `Critical`, scripts `critical`). */
function severityOf(v: string): Severity {
  const word = v.trim().charAt(0).toUpperCase() + v.trim().slice(1).toLowerCase();
  if (!isSeverity(word)) throw badRequest(`severity must be one of Critical, High, Medium, Low, Unknown, None; got ${JSON.stringify(v.slice(0, 50))}`);
  return word;
}

function score(key: string, v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10) throw badRequest(`${key} must be a CVSS score between 0 and 10, got ${JSON.stringify(v.slice(0, 50))}`);
  return n;
}
