/**
 * Harbor's project metadata (ProjectMetadata in its swagger): string values keyed by name.
 * `public` lives in the project row itself; the others are kept as given, normalised.
 */
import { parseSeverityWord, severityWord } from './pull-policy.js';

const BOOLEAN_KEYS = new Set([
  'enable_content_trust',
  'enable_content_trust_cosign',
  'prevent_vul',
  'auto_scan',
  'auto_sbom_generation',
  'reuse_sys_cve_allowlist',
  // Berth: refuse pulls of unscanned images while prevent_vul is on (default true)
  'prevent_vul_unscanned',
]);
const INTEGER_KEYS = new Set(['retention_id', 'proxy_speed_kb']);

export const PROJECT_METADATA_KEYS: readonly string[] = ['public', ...BOOLEAN_KEYS, 'severity', ...INTEGER_KEYS];

/**
 * The stored entries of a metadata object from a request (without `public`), or the first
 * problem. Booleans are "true"/"false" (JSON booleans accepted too), `severity` one of Harbor's
 * words (none, low, medium, high, critical; stored lower case).
 */
export function normalizeProjectMetadata(md: Readonly<Record<string, unknown>>): { entries: Record<string, string> } | { error: string } {
  const entries: Record<string, string> = {};
  for (const [key, raw] of Object.entries(md)) {
    if (key === 'public') continue;
    const v = typeof raw === 'boolean' || typeof raw === 'number' ? String(raw) : raw;
    if (typeof v !== 'string') return { error: `project metadata ${key.slice(0, 50)} must be a string` };
    if (BOOLEAN_KEYS.has(key)) {
      const lower = v.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') return { error: `project metadata ${key} must be "true" or "false"` };
      entries[key] = lower;
    } else if (key === 'severity') {
      const s = parseSeverityWord(v);
      if (!s) return { error: `invalid severity ${JSON.stringify(v.slice(0, 30))}: use none, low, medium, high or critical` };
      entries[key] = severityWord(s);
    } else if (INTEGER_KEYS.has(key)) {
      if (!/^-?[0-9]{1,15}$/.test(v.trim())) return { error: `project metadata ${key} must be an integer` };
      entries[key] = v.trim();
    } else {
      return { error: `unknown project metadata ${JSON.stringify(key.slice(0, 50))}: Harbor's keys are ${PROJECT_METADATA_KEYS.join(', ')}` };
    }
  }
  return { entries };
}
