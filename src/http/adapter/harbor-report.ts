import type { Finding, SeveritySummary } from '../../domain/vulnerability.js';
import { summarizeFindings } from '../../domain/vulnerability.js';
import type { AdapterMetadata } from '../../ports/external-scanner.js';
import type { AdapterReport } from '../../services/adapter-scan.service.js';

type Json = Record<string, unknown>;

/** One finding as the spec's VulnerabilityItem (v1.1); Berth's own fields go in vendor_attributes. */
function item(f: Finding): Json {
  const c = f.cvss;
  const preferred =
    c && (c.version === '3.0' || c.version === '3.1')
      ? { score_v3: c.baseScore, vector_v3: c.vector }
      : c && c.version === '2.0'
        ? { score_v2: c.baseScore, vector_v2: c.vector }
        : undefined;
  return {
    id: f.id,
    package: f.package,
    version: f.version,
    fix_version: f.fixVersions.join(', '),
    severity: f.severity,
    description: f.description || f.summary,
    links: f.links,
    ...(preferred ? { preferred_cvss: preferred } : {}),
    cwe_ids: [],
    vendor_attributes: {
      purl: f.purl,
      package_type: f.packageType,
      layer_digest: f.layerDigest,
      path: f.path,
      aliases: f.aliases,
      summary: f.summary,
      kev: f.kev,
      source: f.source,
      ...(f.epss ? { epss: f.epss } : {}),
      ...(c && c.version === '4.0' ? { cvss_v4: { score: c.baseScore, vector: c.vector } } : {}),
    },
  };
}

/**
 * The spec's HarborVulnerabilityReport for a finished scan. `severity` is the highest among the
 * findings (`None` for a clean artifact, as Harbor's own overview says).
 */
export function harborReportJson(r: AdapterReport, scanner: AdapterMetadata['scanner']): Json {
  const summary: SeveritySummary = summarizeFindings(r.findings);
  return {
    generated_at: new Date(r.generatedAt).toISOString(),
    artifact: r.artifact,
    scanner,
    severity: summary.highest,
    vulnerabilities: r.findings.map(item),
    // not in the spec (clients ignore it): what the scan saw, so that an empty list can be told
    // apart from an artifact nothing was found in
    vendor_attributes: {
      packages: r.inventory.packages,
      warnings: r.inventory.warnings,
      ...(r.inventory.distro ? { distro: r.inventory.distro } : {}),
      vulnerability_database: r.matched ? 'matched' : 'none',
    },
  };
}
