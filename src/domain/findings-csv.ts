import type { Finding } from './vulnerability.js';

const CSV_COLUMNS = ['Repository', 'Artifact Digest', 'CVE ID', 'Package', 'Version', 'Fixed in Version', 'Severity', 'CVSS Score', 'CVSS Vector', 'KEV', 'EPSS', 'EPSS Percentile', 'PURL', 'Layer', 'Path'];

/** One CSV cell: quoted when needed; a leading = + - @ is defused so spreadsheets show text, not a formula. */
function cell(v: string | number | boolean | undefined): string {
  let s = v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The header line of a findings CSV. */
export function findingsCsvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

/** One CSV line per finding of one artifact (RFC 4180, CRLF). */
export function* findingsCsvLines(repository: string, digest: string, findings: readonly Finding[]): Generator<string> {
  for (const f of findings) {
    yield `${[
      repository,
      digest,
      f.id,
      f.package,
      f.version,
      f.fixVersions.join(' '),
      f.severity,
      f.cvss?.baseScore,
      f.cvss?.vector,
      f.kev,
      f.epss?.score,
      f.epss?.percentile,
      f.purl,
      f.layerDigest,
      f.path,
    ]
      .map(cell)
      .join(',')}\r\n`;
  }
}

/** The findings of one artifact as CSV lines, header first, for streaming out. */
export function* findingsCsv(repository: string, digest: string, findings: readonly Finding[]): Generator<string> {
  yield findingsCsvHeader();
  yield* findingsCsvLines(repository, digest, findings);
}
