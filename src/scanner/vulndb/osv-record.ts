import type { OsvEvent, OsvRange } from '../../domain/osv-range.js';
import { type CvssScore, resolveSeverity } from '../../domain/severity.js';
import type { AdvisoryRecord, AffectedEntry } from '../../ports/vulndb-repo.js';
import { scoreCvss } from '../cvss.js';

/** Why a record is left out; the import counts it and goes on. */
export class MalformedRecord extends Error {}

// bounds on what one record may bring in: real records are far below them
const MAX_TEXT = 64 * 1024;
const MAX_LIST = 10_000;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown, max = MAX_TEXT): string | undefined {
  return typeof v === 'string' ? v.slice(0, max) : undefined;
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedRecord(`${what} is not a list`);
  if (v.length > MAX_LIST) throw new MalformedRecord(`${what} has more than ${MAX_LIST} entries`);
  return v.filter((x): x is string => typeof x === 'string');
}

function rangesOf(v: unknown, where: string): OsvRange[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedRecord(`${where}.ranges is not a list`);
  return v.map((r, i) => {
    if (!isObject(r) || typeof r['type'] !== 'string' || !Array.isArray(r['events'])) throw new MalformedRecord(`${where}.ranges[${i}] is not a range`);
    const events: OsvEvent[] = [];
    for (const e of r['events'] as unknown[]) {
      if (!isObject(e)) throw new MalformedRecord(`${where}.ranges[${i}] has an event that is not an object`);
      for (const k of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
        const ver = e[k];
        if (typeof ver === 'string') {
          events.push({ [k]: ver });
          break;
        }
      }
    }
    return { type: r['type'], events };
  });
}

function severityLabel(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const s = v['severity'];
  if (typeof s === 'string') return s;
  // Debian: ecosystem_specific.urgency
  return typeof v['urgency'] === 'string' ? v['urgency'] : undefined;
}

/**
 * An OSV record (osv-schema 1.7) as Berth stores it, or MalformedRecord. The checks are those the
 * matcher depends on (an id, lists where lists belong); anything else unusual is tolerated, as
 * real feeds carry records that fail the schema in harmless ways (PyPI's GIT `fixed` values).
 */
export function normalizeOsv(raw: unknown): AdvisoryRecord {
  if (!isObject(raw)) throw new MalformedRecord('not a JSON object');
  const id = raw['id'];
  if (typeof id !== 'string' || !ID_RE.test(id)) throw new MalformedRecord('no valid id');
  const affectedRaw = raw['affected'] ?? [];
  if (!Array.isArray(affectedRaw)) throw new MalformedRecord('affected is not a list');
  if (affectedRaw.length > MAX_LIST) throw new MalformedRecord('too many affected entries');

  const vectors: string[] = [];
  const labels: string[] = [];
  const collectSeverity = (sev: unknown): void => {
    if (!Array.isArray(sev)) return;
    for (const s of sev) {
      if (!isObject(s) || typeof s['score'] !== 'string') continue;
      if (typeof s['type'] === 'string' && s['type'].startsWith('CVSS_')) vectors.push(s['score']);
      // Ubuntu's severity type carries a priority word
      else labels.push(s['score']);
    }
  };
  collectSeverity(raw['severity']);
  const topLabel = severityLabel(raw['database_specific']);
  if (topLabel) labels.push(topLabel);

  const affected: AffectedEntry[] = [];
  affectedRaw.forEach((a, i) => {
    const where = `affected[${i}]`;
    if (!isObject(a)) throw new MalformedRecord(`${where} is not an object`);
    const pkg = a['package'];
    collectSeverity(a['severity']);
    for (const k of ['ecosystem_specific', 'database_specific']) {
      const l = severityLabel(a[k]);
      if (l) labels.push(l);
    }
    const ranges = rangesOf(a['ranges'], where);
    const versions = strings(a['versions'], `${where}.versions`);
    // an entry without a package (GIT-only, by repository) cannot be looked up by name
    if (!isObject(pkg)) return;
    const ecosystem = pkg['ecosystem'];
    const name = pkg['name'];
    if (typeof ecosystem !== 'string' || typeof name !== 'string' || !ecosystem || !name) throw new MalformedRecord(`${where}.package needs an ecosystem and a name`);
    affected.push({ ecosystem: ecosystem.slice(0, 200), name: name.slice(0, 1000), ranges, versions });
  });

  const scores: CvssScore[] = [];
  for (const v of vectors) {
    const s = scoreCvss(v);
    if (s && !scores.some((x) => x.vector === s.vector)) scores.push(s);
  }
  const { severity, cvss } = resolveSeverity(scores, labels);
  const references: string[] = [];
  if (Array.isArray(raw['references'])) {
    for (const r of raw['references'].slice(0, 200)) {
      if (isObject(r) && typeof r['url'] === 'string' && !references.includes(r['url'])) references.push(r['url'].slice(0, 2048));
    }
  }
  const modified = str(raw['modified'], 64);
  const published = str(raw['published'], 64);
  const withdrawn = str(raw['withdrawn'], 64);
  return {
    advisory: {
      id,
      aliases: strings(raw['aliases'], 'aliases').map((x) => x.slice(0, 200)),
      summary: str(raw['summary']) ?? '',
      details: str(raw['details']) ?? '',
      ...(modified !== undefined ? { modified } : {}),
      ...(published !== undefined ? { published } : {}),
      ...(withdrawn !== undefined ? { withdrawn } : {}),
      severity,
      ...(cvss ? { cvss } : {}),
      references,
    },
    affected,
  };
}
