import { projectPolicyViolation } from '../domain/errors.js';
import type { Principal } from '../domain/permission.js';
import {
  type CveAllowlist,
  decidePull,
  effectiveAllowlist,
  type GateScan,
  isGatedArtifact,
  isScannerPull,
  policyFromMetadata,
  type PullDecision,
  type PullPolicy,
} from '../domain/pull-policy.js';
import type { Clock } from '../ports/clock.js';
import type { MetadataRepos } from '../ports/metadata.js';
import type { ArtifactScanStatus, ScanStatusSource } from '../ports/scan-status.js';
import { TtlCache } from './ttl-cache.js';

/** The artifact a manifest GET/HEAD is about to serve, and who asks. */
export interface GatedPull {
  projectId: number;
  projectName: string;
  repositoryId: number;
  repositoryName: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
  principal: Principal | undefined;
}

/** What the manifest service needs of the gate. */
export interface PullGate {
  check(pull: GatedPull): Promise<void>;
}

export interface PullGateConfig {
  /** how long a pull waits for the scan of an unscanned artifact before it is refused as pending */
  scanTimeoutMs: number;
  /** how long a project's policy and an artifact's verdict are reused without a lookup */
  cacheTtlMs: number;
}

export const DEFAULT_PULL_GATE_CONFIG: PullGateConfig = { scanTimeoutMs: 120_000, cacheTtlMs: 2_000 };

interface ProjectPolicyEntry {
  policy: PullPolicy;
  /** the ids of the allowlist that applies, and until when (ms; Infinity: no expiry) */
  allow: ReadonlySet<string>;
  allowUntil: number;
}

interface VerdictEntry {
  /** the scan the verdict was taken on (generation and completion time) */
  stamp: string;
  /** the policy entry it was taken under, by identity: a new policy is a new entry */
  policy: ProjectPolicyEntry;
  allowActive: boolean;
  decision: PullDecision;
  /** when the scan status was last looked at (ms) */
  checkedAt: number;
}

/** A verdict is kept this long at most; within cacheTtlMs of its last check it is used as it is. */
const VERDICT_KEEP_MS = 600_000;

const EMPTY: ReadonlySet<string> = new Set();

/**
 * The pull gate (project `prevent_vul`): called by manifest GET and HEAD. With the policy off it
 * costs one cached lookup. With it on, an artifact's verdict is cached per (repository, digest,
 * scan generation) so that HEADs stay fast; an unscanned artifact is scanned first (bounded by
 * `scanTimeoutMs`), so no first pull slips through unscanned. Refusals are Harbor's 412
 * PROJECTPOLICYVIOLATION with Harbor's message.
 */
export class PullGateService implements PullGate {
  private readonly policies: TtlCache<number, ProjectPolicyEntry>;
  private readonly verdicts: TtlCache<string, VerdictEntry>;
  private scans: ScanStatusSource | undefined;
  private readonly config: PullGateConfig;

  constructor(
    private readonly deps: {
      metadata: Pick<MetadataRepos, 'projects' | 'cveAllowlists'>;
      clock: Clock;
      scans?: ScanStatusSource;
      config?: Partial<PullGateConfig>;
      log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
    },
  ) {
    const now = () => deps.clock.now();
    this.policies = new TtlCache(10_000, now);
    this.verdicts = new TtlCache(50_000, now);
    this.scans = deps.scans;
    this.config = { ...DEFAULT_PULL_GATE_CONFIG, ...deps.config };
  }

  /** The scan pipeline, once it is composed (src/ports/scan-status.ts). */
  useScanStatusSource(s: ScanStatusSource | undefined): void {
    this.scans = s;
    this.verdicts.clear();
  }

  /** After a change of a project's metadata or allowlist (null: the system allowlist). */
  forget(projectId: number | null): void {
    if (projectId === null) this.policies.clear();
    else this.policies.delete(projectId);
  }

  /** After a scan finished or the vulnerability data changed: verdicts are taken again. */
  forgetVerdicts(): void {
    this.verdicts.clear();
  }

  async check(pull: GatedPull): Promise<void> {
    const entry = await this.policyOf(pull.projectId);
    if (!entry.policy.preventVul) return;
    if (!isGatedArtifact(pull.mediaType, pull.artifactType, pull.subjectDigest)) return;
    if (pull.principal && isScannerPull(pull.principal, pull.projectName, pull.repositoryName)) return;
    const decision = await this.verdict(pull, entry);
    if (decision.allow) {
      if (decision.bypassed.length) this.deps.log?.info({ repo: pull.repositoryName, digest: pull.digest, bypassed: decision.bypassed.slice(0, 50) }, 'pull gate: allowlisted findings let through');
      return;
    }
    throw projectPolicyViolation(decision.message, {
      reason: decision.reason,
      digest: pull.digest,
      ...(decision.total !== undefined ? { total: decision.total, blocking: decision.blocking, ids: decision.ids } : {}),
    });
  }

  private async verdict(pull: GatedPull, entry: ProjectPolicyEntry): Promise<PullDecision> {
    const key = `${pull.repositoryId}@${pull.digest}`;
    const now = this.deps.clock.now();
    const allowActive = now < entry.allowUntil;
    const cached = this.verdicts.get(key);
    // within the TTL the verdict stands without asking the scan status again
    const same = cached !== undefined && cached.policy === entry && cached.allowActive === allowActive;
    if (same && now - cached.checkedAt < this.config.cacheTtlMs) return cached.decision;

    let status = await this.statusOf(pull);
    if (status.status !== 'done' && status.status !== 'error' && entry.policy.preventUnscanned) status = await this.scanFirst(pull);
    const stamp = `${status.generation ?? ''}:${status.completedAt ?? ''}`;
    if (status.status === 'done' && same && cached.stamp === stamp) {
      cached.checkedAt = now;
      return cached.decision;
    }
    const decision = decidePull({ policy: entry.policy, scan: toGateScan(status), allowlist: allowActive ? entry.allow : EMPTY });
    // only a finished scan's verdict is kept; a pending one is asked again on the next pull
    if (status.status === 'done') {
      this.verdicts.set(key, { stamp, policy: entry, allowActive, decision, checkedAt: now }, Math.min(VERDICT_KEEP_MS, Math.max(1, entry.allowUntil - now)));
    }
    return decision;
  }

  private async statusOf(pull: GatedPull): Promise<ArtifactScanStatus> {
    if (!this.scans) return { status: 'none' };
    return this.scans.statusOf(pull.repositoryId, pull.digest);
  }

  /**
   * Scans (or joins the scan of) an unscanned artifact; after the timeout it is still pending.
   * The scan service joins concurrent requests to one job; the signal only ends this wait.
   */
  private async scanFirst(pull: GatedPull): Promise<ArtifactScanStatus> {
    const scans = this.scans;
    if (!scans) return { status: 'none' };
    const stop = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ArtifactScanStatus>((resolve) => {
      timer = setTimeout(() => {
        resolve({ status: 'pending' });
        stop.abort();
      }, this.config.scanTimeoutMs);
      timer.unref();
    });
    const scanned = scans.scanNow(pull.repositoryName, pull.digest, stop.signal).catch((e: unknown): ArtifactScanStatus => {
      if (stop.signal.aborted) return { status: 'pending' };
      this.deps.log?.warn({ repo: pull.repositoryName, digest: pull.digest, err: e instanceof Error ? e.message : String(e) }, 'pull gate: scan failed');
      return { status: 'error', error: e instanceof Error ? e.message : String(e) };
    });
    try {
      return await Promise.race([scanned, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async policyOf(projectId: number): Promise<ProjectPolicyEntry> {
    const cached = this.policies.get(projectId);
    if (cached) return cached;
    const policy = policyFromMetadata(await this.deps.metadata.projects.metadataOf(projectId));
    let list: CveAllowlist | undefined;
    if (policy.preventVul) list = await this.deps.metadata.cveAllowlists.get(policy.reuseSystemAllowlist ? null : projectId);
    const now = this.deps.clock.now();
    const reuse = policy.reuseSystemAllowlist;
    const allow = effectiveAllowlist(policy, reuse ? list : undefined, reuse ? undefined : list, now);
    const entry: ProjectPolicyEntry = {
      policy,
      allow,
      allowUntil: list && allow.size > 0 && list.expiresAt !== null ? list.expiresAt * 1000 : Infinity,
    };
    this.policies.set(projectId, entry, this.config.cacheTtlMs);
    return entry;
  }
}

function toGateScan(s: ArtifactScanStatus): GateScan {
  switch (s.status) {
    case 'done':
      return { status: 'done', findings: s.findings ?? [] };
    case 'error':
      return { status: 'error', ...(s.error !== undefined ? { error: s.error } : {}) };
    default:
      return { status: s.status };
  }
}
