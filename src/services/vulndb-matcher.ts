import { affectedVerdict, fixedVersions } from '../domain/osv-range.js';
import type { ExtractedPackage, ImageInventory } from '../domain/sbom.js';
import type { Finding } from '../domain/vulnerability.js';
import { schemeFor } from '../domain/versions/index.js';
import type { VulnerabilityMatcher } from '../ports/vuln-matcher.js';
import type { Advisory, AffectedMatch, VulndbRepo } from '../ports/vulndb-repo.js';
import { packageLookup } from './vulndb-ecosystem.js';

interface Hit {
  pkg: ExtractedPackage;
  version: string;
  row: AffectedMatch;
}

const isCve = (id: string): boolean => /^CVE-\d{4}-\d+$/.test(id);

/**
 * Matches inventories against the imported database: one indexed lookup per ecosystem (the
 * packages' names in IN lists), one per copy for the advisories found, one each for KEV and EPSS.
 */
export class VulndbMatcher implements VulnerabilityMatcher {
  constructor(private readonly deps: { repo: VulndbRepo }) {}

  generation(): Promise<number> {
    return this.deps.repo.generation();
  }

  async match(inventory: ImageInventory): Promise<Finding[]> {
    const { repo } = this.deps;
    // ecosystem -> name -> the packages looked up by it
    const wanted = new Map<string, Map<string, { pkg: ExtractedPackage; version: string }[]>>();
    for (const pkg of inventory.packages) {
      const l = packageLookup(pkg, inventory.distro);
      if (!l) continue;
      for (const eco of l.ecosystems) {
        let byName = wanted.get(eco);
        if (!byName) wanted.set(eco, (byName = new Map()));
        const list = byName.get(l.name) ?? [];
        list.push({ pkg, version: l.version });
        byName.set(l.name, list);
      }
    }

    const hits: Hit[] = [];
    for (const [eco, byName] of wanted) {
      for (const row of await repo.affected(eco, [...byName.keys()])) {
        for (const w of byName.get(row.name) ?? []) {
          if (affectedVerdict(w.version, { ranges: row.ranges, versions: row.versions }, row.ecosystem) === 'affected') {
            hits.push({ pkg: w.pkg, version: w.version, row });
          }
        }
      }
    }
    if (hits.length === 0) return [];

    const byBatch = new Map<number, Set<string>>();
    for (const h of hits) {
      const ids = byBatch.get(h.row.batch) ?? new Set<string>();
      ids.add(h.row.advisoryId);
      byBatch.set(h.row.batch, ids);
    }
    const advisories = new Map<string, Advisory>();
    for (const [batch, ids] of byBatch) {
      for (const a of await repo.advisories(batch, [...ids])) advisories.set(`${batch}\0${a.id}`, a);
    }

    const cvesOf = (a: Advisory): string[] => [a.id, ...a.aliases].filter(isCve);
    const allCves = new Set<string>();
    for (const a of advisories.values()) for (const c of cvesOf(a)) allCves.add(c);
    const [kev, epss] = await Promise.all([repo.kev([...allCves]), repo.epss([...allCves])]);

    // one finding per advisory and package location; entries of one advisory for one package
    // (several ranges, several affected[] entries) merge their fix versions
    const findings = new Map<string, Finding>();
    for (const h of hits) {
      const a = advisories.get(`${h.row.batch}\0${h.row.advisoryId}`);
      if (!a || a.withdrawn) continue;
      const key = `${a.id}\0${h.pkg.purl}\0${h.pkg.layerDigest}\0${h.pkg.path}`;
      const fixes = fixedVersions(h.version, { ranges: h.row.ranges, versions: h.row.versions }, h.row.ecosystem);
      const existing = findings.get(key);
      if (existing) {
        const scheme = schemeFor(h.row.ecosystem);
        for (const f of fixes) if (!existing.fixVersions.includes(f)) existing.fixVersions.push(f);
        existing.fixVersions.sort((x, y) => scheme?.compare(x, y) ?? 0);
        continue;
      }
      const cves = cvesOf(a);
      const score = cves.map((c) => epss.get(c)).find((s) => s !== undefined);
      findings.set(key, {
        id: a.id,
        aliases: a.aliases,
        package: h.pkg.namespace && h.pkg.type !== 'deb' ? displayName(h.pkg) : h.pkg.name,
        packageType: h.pkg.type,
        purl: h.pkg.purl,
        version: h.pkg.version,
        fixVersions: fixes,
        severity: a.severity,
        ...(a.cvss ? { cvss: a.cvss } : {}),
        summary: a.summary,
        description: a.details,
        links: a.references,
        layerDigest: h.pkg.layerDigest,
        path: h.pkg.path,
        kev: cves.some((c) => kev.has(c)),
        ...(score ? { epss: { score: score.score, percentile: score.percentile } } : {}),
        source: h.row.ecosystem,
      });
    }
    return [...findings.values()].sort(
      (x, y) => cmp(x.id, y.id) || cmp(x.purl, y.purl) || cmp(x.layerDigest, y.layerDigest) || cmp(x.path, y.path),
    );
  }
}

function displayName(p: ExtractedPackage): string {
  if (p.type === 'maven') return `${p.namespace}:${p.name}`;
  return `${p.namespace}/${p.name}`;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
