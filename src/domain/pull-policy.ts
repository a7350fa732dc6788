/**
 * The pull gate's rules (project `prevent_vul` + `severity`, CVE allowlists), as pure functions:
 * findings + policy + allowlist + now -> allow or deny with Harbor's message. The orchestration
 * (scan first, caches, timeouts) is src/services/pull-gate.service.ts.
 */
import { artifactTypeOf } from './artifact.js';
import type { Principal } from './permission.js';
import { atLeast, isSeverity, SEVERITIES, type Severity, severityRank } from './severity.js';

/** A CVE allowlist: system-wide (`projectId` null) or one project's. */
export interface CveAllowlist {
  id: number;
  projectId: number | null;
  /** unix seconds; null: never expires (Harbor's `expires_at`) */
  expiresAt: number | null;
  /** CVE (or any advisory) ids, as entered */
  items: string[];
  createdAt: number;
  updatedAt: number;
}

/** The project settings the gate reads (Harbor's project metadata). */
export interface PullPolicy {
  /** Harbor's `prevent_vul` */
  preventVul: boolean;
  /** Harbor's `severity`: pulls of an artifact with a finding at or above it are refused */
  severity: Severity;
  /** Berth's `prevent_vul_unscanned` (default true): an artifact without a finished scan is refused */
  preventUnscanned: boolean;
  /** Harbor's `reuse_sys_cve_allowlist` (default true): the system allowlist applies instead of the project's */
  reuseSystemAllowlist: boolean;
}

/** What the gate needs of a finding (src/domain/vulnerability.ts Finding has these). */
export interface GatedFinding {
  id: string;
  aliases: readonly string[];
  severity: Severity;
}

/** Where the artifact's scan stands when the gate decides. */
export type GateScan =
  | { status: 'done'; findings: readonly GatedFinding[] }
  | { status: 'none' }
  | { status: 'pending' | 'running' }
  | { status: 'error'; error?: string };

export type PullDecision =
  | { allow: true; /** findings let through by the allowlist (logged) */ bypassed: string[] }
  | {
      allow: false;
      reason: 'vulnerable' | 'unscanned' | 'scan-pending' | 'scan-failed';
      message: string;
      /** with `vulnerable`: the findings left after the allowlist (Harbor's count) and those at or above the threshold */
      total?: number;
      blocking?: number;
      /** with `vulnerable`: the ids of the blocking findings, at most 20 */
      ids?: string[];
    };

// Harbor project metadata values and their severity (Harbor's vuln.ParseSeverityVersion3)
const SEVERITY_WORDS: Readonly<Record<string, Severity>> = {
  none: 'None',
  unknown: 'Unknown',
  negligible: 'Low',
  low: 'Low',
  medium: 'Medium',
  high: 'High',
  critical: 'Critical',
};

/** A project's `severity` value, or undefined when it is not one Harbor knows. */
export function parseSeverityWord(v: string): Severity | undefined {
  const lower = v.trim().toLowerCase();
  return SEVERITY_WORDS[lower] ?? (isSeverity(v) ? v : undefined);
}

/** The stored word for a severity (Harbor stores lower case). */
export const severityWord = (s: Severity): string => s.toLowerCase();

/**
 * The policy from a project's metadata (string values, as Harbor keeps them). A missing
 * `severity` means Low (Harbor's UI default); a missing `reuse_sys_cve_allowlist` means true
 * (Harbor's Project.ReuseSysCVEAllowlist); a missing `prevent_vul_unscanned` means true.
 */
export function policyFromMetadata(md: Readonly<Record<string, string>>): PullPolicy {
  const flag = (k: string, dflt: boolean) => (md[k] === undefined ? dflt : md[k] === 'true');
  return {
    preventVul: flag('prevent_vul', false),
    severity: (md['severity'] !== undefined ? parseSeverityWord(md['severity']) : undefined) ?? 'Low',
    preventUnscanned: flag('prevent_vul_unscanned', true),
    reuseSystemAllowlist: flag('reuse_sys_cve_allowlist', true),
  };
}

/** Harbor's CVEAllowlist.IsExpired: expired once now >= expires_at. */
export function allowlistActive(list: Pick<CveAllowlist, 'expiresAt'>, nowMs: number): boolean {
  return list.expiresAt === null || Math.floor(nowMs / 1000) < list.expiresAt;
}

/**
 * The allowlist that applies to a project (Harbor's WithEffectCVEAllowlist): the system's when
 * the project reuses it, else the project's own. An expired one applies to nothing.
 */
export function effectiveAllowlist(
  policy: Pick<PullPolicy, 'reuseSystemAllowlist'>,
  system: CveAllowlist | undefined,
  project: CveAllowlist | undefined,
  nowMs: number,
): ReadonlySet<string> {
  const list = policy.reuseSystemAllowlist ? system : project;
  if (!list || !allowlistActive(list, nowMs)) return new Set();
  return new Set(list.items.map(normalizeId));
}

/** Advisory ids compare without case and surrounding space (CVE-2023-1234 = cve-2023-1234). */
const normalizeId = (id: string) => id.trim().toUpperCase();

/** Whether the allowlist names the finding, by its id or by any alias. */
export function allowlisted(f: GatedFinding, allow: ReadonlySet<string>): boolean {
  if (allow.size === 0) return false;
  return allow.has(normalizeId(f.id)) || f.aliases.some((a) => allow.has(normalizeId(a)));
}

/**
 * Whether the gate judges this artifact at all. As Harbor does, only what a scanner reads is
 * gated: images (OCI and Docker) and indexes of them. Signatures, SBOMs, Helm charts and other
 * artifacts pass, so that `cosign verify` and chart pulls keep working under the policy.
 */
export function isGatedArtifact(mediaType: string, artifactType: string | null, subjectDigest: string | null = null): boolean {
  // an artifact with a subject is an accessory of another (signature, SBOM, attestation)
  return subjectDigest === null && artifactTypeOf(mediaType, artifactType) === 'IMAGE';
}

/**
 * The scanner's own pulls bypass the gate, nobody else's (a system administrator's neither).
 * The scanner is a robot holding `repository:scanner-pull` in the project: the robot API never
 * grants that action (no project role holds it), only the scan services create such robots.
 * With a bearer token, the token's access claim must name `scanner-pull` for the repository;
 * the token service grants it only to such a robot.
 */
export function isScannerPull(p: Principal, projectName: string, repositoryName: string): boolean {
  if (p.kind !== 'robot') return false;
  if (p.token) return p.token.access.some((a) => a.type === 'repository' && a.name === repositoryName && a.actions.includes('scanner-pull'));
  return p.permissions.some(
    (perm) =>
      perm.kind === 'project' &&
      (perm.namespace === projectName || perm.namespace === '*') &&
      perm.access.some((a) => a.resource === 'repository' && a.action === 'scanner-pull'),
  );
}

const policyText = (s: Severity) => `'Prevent images with vulnerability severity of "${s}" or higher from running.'`;

/** Harbor's status words in "current image with "<status>" status of vulnerability scanning" */
const STATUS_WORD = { pending: 'Pending', running: 'Running', error: 'Error' } as const;

/**
 * THE decision. Harbor's vulnerable middleware: with `prevent_vul` off everything passes; a
 * finished scan whose highest finding left after the allowlist is at or above the threshold is
 * refused, naming the number of findings left (Harbor's VulnerabilitiesCount); an artifact
 * without a finished scan is refused while `preventUnscanned` holds.
 */
export function decidePull(input: { policy: PullPolicy; scan: GateScan; allowlist: ReadonlySet<string> }): PullDecision {
  const { policy, scan, allowlist } = input;
  if (!policy.preventVul) return { allow: true, bypassed: [] };
  const sev = policy.severity;
  if (scan.status !== 'done') {
    if (!policy.preventUnscanned) return { allow: true, bypassed: [] };
    if (scan.status === 'none') {
      return {
        allow: false,
        reason: 'unscanned',
        message: `current image without vulnerability scanning cannot be pulled due to configured policy in ${policyText(sev)} To continue with pull, please contact your project administrator for help.`,
      };
    }
    const pending = scan.status !== 'error';
    const base = `current image with "${STATUS_WORD[scan.status]}" status of vulnerability scanning cannot be pulled due to configured policy in ${policyText(sev)} `;
    return pending
      ? { allow: false, reason: 'scan-pending', message: `${base}The scan has not finished yet: retry the pull when it has (the gate scans unscanned images before they are served).` }
      : { allow: false, reason: 'scan-failed', message: `${base}To continue with pull, please contact your project administrator for help.` };
  }
  const bypassed: string[] = [];
  let total = 0;
  let highest = -1;
  const blockingIds: string[] = [];
  let blocking = 0;
  for (const f of scan.findings) {
    if (allowlisted(f, allowlist)) {
      bypassed.push(f.id);
      continue;
    }
    total++;
    highest = Math.max(highest, severityRank(f.severity));
    if (atLeast(f.severity, sev)) {
      blocking++;
      if (blockingIds.length < 20 && !blockingIds.includes(f.id)) blockingIds.push(f.id);
    }
  }
  if (highest < 0 || !atLeast(SEVERITIES[highest]!, sev)) return { allow: true, bypassed };
  const thing = total > 1 ? 'vulnerabilities' : 'vulnerability';
  return {
    allow: false,
    reason: 'vulnerable',
    message: `current image with ${total} ${thing} cannot be pulled due to configured policy in ${policyText(sev)} To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.`,
    total,
    blocking,
    ids: blockingIds,
  };
}

/** Harbor's allowlist validation, plus Berth's bounds: ids non-empty and unique, expiry a unix time or null. */
export function validateAllowlist(input: { items: readonly { cve_id?: unknown }[]; expiresAt: unknown }): { items: string[]; expiresAt: number | null } | { error: string } {
  const { expiresAt } = input;
  if (expiresAt !== null && expiresAt !== undefined) {
    if (typeof expiresAt !== 'number' || !Number.isInteger(expiresAt) || expiresAt < 0 || expiresAt > 253_402_300_799) {
      return { error: 'expires_at must be a unix time in seconds (an integer from 0 to 253402300799) or null' };
    }
  }
  if (input.items.length > MAX_ALLOWLIST_ITEMS) return { error: `an allowlist holds at most ${MAX_ALLOWLIST_ITEMS} items` };
  const seen = new Set<string>();
  const items: string[] = [];
  for (const it of input.items) {
    const raw = it.cve_id;
    if (typeof raw !== 'string' || raw.trim() === '') return { error: 'empty or whitespace-only CVE ID in allowlist' };
    const id = raw.trim();
    if (id.length > 128 || !/^[\x21-\x7e]+$/.test(id)) return { error: `invalid CVE ID in allowlist: ${JSON.stringify(id.slice(0, 64))}` };
    const key = normalizeId(id);
    if (seen.has(key)) return { error: `duplicate CVE ID in allowlist: ${id}` };
    seen.add(key);
    items.push(id);
  }
  return { items, expiresAt: typeof expiresAt === 'number' ? expiresAt : null };
}

export const MAX_ALLOWLIST_ITEMS = 10_000;
