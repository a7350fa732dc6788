import { createHash, randomUUID } from 'node:crypto';
import { artifactTypeOf } from '../domain/artifact.js';
import { tryParseDigest } from '../domain/digest.js';
import { badRequest, notFound } from '../domain/errors.js';
import { isIndexMediaType } from '../domain/media-types.js';
import type { Repository } from '../domain/records.js';
import { isValidTag } from '../domain/reference.js';
import type { RepoName } from '../domain/repo-name.js';
import type { ExtractedPackage, ImageInventory } from '../domain/sbom.js';
import { type Finding, type SeveritySummary, summarizeFindings } from '../domain/vulnerability.js';
import type { Clock } from '../ports/clock.js';
import type { ScannerSelector } from '../ports/external-scanner.js';
import type { JobPayloads } from '../ports/job-queue.js';
import type { LayerAnalyzer } from '../ports/layer-analyzer.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import type { ArtifactInventoryRecord, ScanRecord, ScanResult, ScanTarget } from '../ports/scan-repo.js';
import type { ArtifactScanStatus, ScanStatusSource } from '../ports/scan-status.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import type { VulnerabilityMatcher } from '../ports/vuln-matcher.js';
import { indexChildren, InventoryBuilder, type InventoryStats, type PackageIndexSource } from './scan-inventory.js';

export const BUILTIN_SCANNER = 'Berth';

/** What a job handler is told about the run it is in. */
export interface JobRun {
  jobId: number;
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
}

export interface PushedManifest {
  projectId: number;
  manifestId: number;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
}

/** With no vulnerability database wired, inventories are stored and nothing matches. */
const NO_MATCHER: VulnerabilityMatcher = { generation: async () => 0, match: async () => [] };

const scanKey = (manifestId: number) => `scan:${manifestId}`;
const isScannable = (mediaType: string, artifactType: string | null, subject: string | null) =>
  subject === null && artifactTypeOf(mediaType, artifactType) === 'IMAGE';

/**
 * The scan pipeline: jobs enqueued on push (project `auto_scan`) or on demand, layers analysed
 * once per digest, inventories stored per artifact, matched against the vulnerability database
 * (or an external adapter) into a stored report with its summary; stored inventories are matched
 * again when the database changes, without reading a layer.
 */
export class ScanService implements ScanStatusSource {
  private readonly inventories: InventoryBuilder;
  private matcher: VulnerabilityMatcher;
  private reevaluation: Promise<ReevaluationResult> | undefined;
  private reevaluateAgain = false;
  private readonly waiters = new Map<number, Set<() => void>>();

  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      analyzer: LayerAnalyzer;
      clock: Clock;
      matcher?: VulnerabilityMatcher;
      scanners?: ScannerSelector;
      packageIndex?: PackageIndexSource;
      /** after a freshly built inventory is stored: Berth's SBOM referrers */
      onInventoryStored?: (target: ScanTarget, inventory: ImageInventory) => Promise<unknown>;
      /** a new job was enqueued: wake the runner */
      onEnqueued?: () => void;
      log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
      config?: { layerConcurrency?: number; waitPollMs?: number };
    },
  ) {
    this.matcher = deps.matcher ?? NO_MATCHER;
    this.inventories = new InventoryBuilder({
      metadata: deps.metadata,
      storage: deps.storage,
      analyzer: deps.analyzer,
      clock: deps.clock,
      layerConcurrency: deps.config?.layerConcurrency ?? 4,
      ...(deps.packageIndex ? { packageIndex: deps.packageIndex } : {}),
      ...(deps.onInventoryStored ? { onInventoryStored: deps.onInventoryStored } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    });
  }

  /** The vulnerability database, once it is ready (compose wires it after both exist). */
  useMatcher(matcher: VulnerabilityMatcher): void {
    this.matcher = matcher;
  }

  /** counters of layer reads and reuse, for tests and metrics */
  get stats(): Readonly<InventoryStats> {
    return this.inventories.stats;
  }

  /**
   * Called in the push's transaction (the outbox): a pushed image or index of a project with
   * `auto_scan` gets its scan job in the same commit.
   */
  async onPush(tx: MetadataRepos, pushed: PushedManifest): Promise<void> {
    if (!isScannable(pushed.mediaType, pushed.artifactType, pushed.subjectDigest)) return;
    if (!(await tx.scans.autoScan(pushed.projectId))) return;
    await this.enqueueIn(tx, pushed.manifestId);
  }

  /** Harbor's scanArtifact: queues a scan (or joins the one queued). */
  async requestScan(name: RepoName, reference: string): Promise<{ jobId: number }> {
    const { repo, target } = await this.resolve(name, reference);
    if (!isScannable(target.mediaType, target.artifactType, target.subjectDigest)) {
      throw badRequest(`the artifact ${repo.name}@${target.digest} is not an image; only images and indexes are scanned`);
    }
    const jobId = await this.deps.metadata.transaction((tx) => this.enqueueIn(tx, target.id));
    return { jobId };
  }

  /** Harbor's stopScanArtifact: cancels a queued or running scan. */
  async stop(name: RepoName, reference: string): Promise<void> {
    const { target } = await this.resolve(name, reference);
    const rec = await this.deps.metadata.scans.scan(target.id);
    if (!rec || (rec.status !== 'pending' && rec.status !== 'running') || rec.jobId === null) {
      throw badRequest(`no scan of ${target.digest} is in progress`);
    }
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.jobs.cancel(rec.jobId!, now);
      await tx.scans.markFailed(target.id, 'stopped', 'stopped by request', now);
    });
    this.wake(rec.jobId);
  }

  /** The stored scan of an artifact (by tag or digest) with its findings. */
  async report(name: RepoName, reference: string): Promise<{ repo: Repository; digest: string; mediaType: string; scan?: ScanRecord; findings: Finding[] }> {
    const { repo, target } = await this.resolve(name, reference);
    const scan = await this.deps.metadata.scans.scan(target.id);
    const findings = scan?.summary ? ((await this.deps.metadata.scans.findings(target.id)) ?? []) : [];
    return { repo, digest: target.digest, mediaType: target.mediaType, ...(scan ? { scan } : {}), findings };
  }

  /**
   * Harbor's scan log (`…/scan/{report_id}/log`): the artifact's scan as text, from what is
   * stored of it: the scan record, its job's attempts, the inventory (layers, packages, the
   * warnings of a degraded analysis) and the summary. 404 when the report is not the artifact's.
   */
  async log(name: RepoName, reference: string, reportId: string): Promise<string> {
    const { metadata } = this.deps;
    const { repo, target } = await this.resolve(name, reference);
    const scan = await metadata.scans.scan(target.id);
    if (!scan || scan.reportId !== reportId) throw notFound(`no scan report ${reportId.slice(0, 100)} of ${repo.name}@${target.digest}`);
    const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
    const lines = [`scan of ${repo.name}@${target.digest} (${target.mediaType}), report ${scan.reportId}`, `scanner: ${scan.scanner || BUILTIN_SCANNER}`, `status: ${scan.status}`];
    if (scan.jobId !== null) {
      const job = await metadata.jobs.get(scan.jobId);
      if (job) lines.push(`job ${job.id}: ${job.state}, attempt ${job.attempts} of ${job.maxAttempts}${job.lastError ? `; last error: ${job.lastError}` : ''}`);
    }
    lines.push(`started: ${iso(scan.startedAt)}`, `ended: ${iso(scan.endedAt)}${scan.startedAt !== null && scan.endedAt !== null ? ` (${scan.endedAt - scan.startedAt} ms)` : ''}`);
    const inv = await metadata.scans.inventory(target.id);
    if (inv) {
      const byType = new Map<string, number>();
      for (const p of inv.inventory.packages) byType.set(p.type, (byType.get(p.type) ?? 0) + 1);
      const d = inv.inventory.distro;
      lines.push(
        `inventory: analyzer ${inv.analyzerVersion}, ${inv.image.layers.length} layers, ${d ? `${d.prettyName ?? `${d.id} ${d.versionId ?? ''}`.trim()}, ` : ''}${inv.inventory.packages.length} packages${byType.size ? ` (${[...byType].map(([t, n]) => `${t} ${n}`).join(', ')})` : ''}`,
      );
      for (const w of inv.inventory.warnings) lines.push(`warning ${w.code}${w.layerDigest ? ` in layer ${w.layerDigest}` : ''}${w.path ? ` at ${w.path}` : ''}: ${w.message}`);
    }
    if (scan.generation !== null && scan.scanner === BUILTIN_SCANNER) lines.push(`vulnerability data: generation ${scan.generation}`);
    if (scan.summary) {
      const per = Object.entries(scan.summary.summary).map(([sev, n]) => `${sev} ${n}`);
      lines.push(`findings: ${scan.summary.total}, fixable ${scan.summary.fixable}${per.length ? `; ${per.join(', ')}` : ''}; highest ${scan.summary.highest}`);
    }
    if (scan.error) lines.push(`error: ${scan.error}`);
    return `${lines.join('\n')}\n`;
  }

  /** The stored inventory (SBOM) of an artifact, for the SBOM exports. */
  async inventory(manifestId: number): Promise<ArtifactInventoryRecord | undefined> {
    return this.deps.metadata.scans.inventory(manifestId);
  }

  async statusOf(repositoryId: number, digest: string): Promise<ArtifactScanStatus> {
    const m = await this.deps.metadata.manifests.stat(repositoryId, digest);
    if (!m) return { status: 'none' };
    return this.statusById(m.id);
  }

  async scanNow(repositoryName: string, digest: string, signal?: AbortSignal): Promise<ArtifactScanStatus> {
    const repo = await this.deps.metadata.repositories.getByName(repositoryName);
    const m = repo && (await this.deps.metadata.manifests.stat(repo.id, digest));
    if (!repo || !m) return { status: 'none' };
    if (!isScannable(m.mediaType, m.artifactType, m.subjectDigest)) return { status: 'none' };
    // joins the pending or running job of the artifact when there is one
    const jobId = await this.deps.metadata.transaction((tx) => this.enqueueIn(tx, m.id));
    await this.waitFor(jobId, signal);
    return this.statusById(m.id);
  }

  /** The job handler of `scan.artifact`. Idempotent: a scan run twice stores the same result. */
  async runScanJob(payload: JobPayloads['scan.artifact'], run: JobRun): Promise<void> {
    const { metadata, clock } = this.deps;
    const target = await metadata.scans.target(payload.manifestId);
    if (!target) return; // deleted since it was queued
    await metadata.scans.markRunning(target.manifestId, clock.now());
    try {
      await this.scanTarget(target, run.signal);
    } catch (e) {
      if (run.signal.aborted) {
        this.wake(run.jobId);
        throw e;
      }
      // the last attempt records the failure; earlier ones leave the scan pending for the retry
      if (run.attempt >= run.maxAttempts) {
        await metadata.scans.markFailed(target.manifestId, 'error', e instanceof Error ? e.message : String(e), clock.now());
      }
      throw e;
    } finally {
      if (run.attempt >= run.maxAttempts || !run.signal.aborted) this.wake(run.jobId);
    }
  }

  /**
   * Matches every stored inventory again against the current database (no layer is read), then
   * aggregates indexes again; each changed verdict is recorded. Calls while one runs make one
   * more pass after it.
   */
  reevaluateAll(): Promise<ReevaluationResult> {
    if (this.reevaluation) {
      this.reevaluateAgain = true;
      return this.reevaluation;
    }
    const run = async (): Promise<ReevaluationResult> => {
      let result: ReevaluationResult;
      do {
        this.reevaluateAgain = false;
        result = await this.reevaluatePass();
      } while (this.reevaluateAgain);
      return result;
    };
    this.reevaluation = run().finally(() => (this.reevaluation = undefined));
    return this.reevaluation;
  }

  private async reevaluatePass(): Promise<ReevaluationResult> {
    const { metadata, clock } = this.deps;
    const generation = await this.matcher.generation();
    const result: ReevaluationResult = { generation, matched: 0, changed: 0, indexes: 0 };
    const changedChildren: { repositoryId: number; digest: string }[] = [];
    const match = layerMatchCache(this.matcher);
    let after = 0;
    for (;;) {
      const page = await metadata.scans.inventories(after, 200);
      if (page.length === 0) break;
      after = page[page.length - 1]!.manifestId;
      const scans = await metadata.scans.scans(page.map((p) => p.manifestId));
      const results: { target: StoreTarget; result: ScanResult; prev: ScanRecord | undefined }[] = [];
      for (const inv of page) {
        const prev = scans.get(inv.manifestId);
        // an adapter's findings are not the built-in matcher's to replace; a scan in flight stores its own
        if (prev && (prev.scanner !== BUILTIN_SCANNER || prev.status !== 'done' || prev.generation === generation)) continue;
        const startedAt = clock.now();
        const findings = await match(inv.inventory);
        results.push({
          target: { manifestId: inv.manifestId, repositoryId: inv.repositoryId, digest: inv.digest },
          result: { scanner: BUILTIN_SCANNER, generation, findings, summary: summarizeFindings(findings), startedAt, endedAt: clock.now() },
          prev,
        });
      }
      // one transaction per page: a thousand artifacts are a handful of commits
      const changed = await metadata.transaction(async (tx) => {
        const out: StoreTarget[] = [];
        for (const r of results) if (await this.storeIn(tx, r.target, r.result, r.prev)) out.push(r.target);
        return out;
      });
      result.matched += results.length;
      result.changed += changed.length;
      for (const c of changed) changedChildren.push({ repositoryId: c.repositoryId, digest: c.digest });
    }
    const parents = new Set<number>();
    for (const c of changedChildren) for (const p of await metadata.artifacts.parentsOf(c.repositoryId, c.digest)) parents.add(p);
    for (const p of parents) {
      const target = await metadata.scans.target(p);
      if (target && (await this.aggregate(target, generation))) result.indexes++;
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------------

  private async scanTarget(target: ScanTarget, signal: AbortSignal): Promise<void> {
    if (isIndexMediaType(target.mediaType)) {
      await this.scanIndex(target, signal);
      return;
    }
    await this.scanImage(target, signal);
    for (const p of await this.deps.metadata.artifacts.parentsOf(target.repositoryId, target.digest)) {
      const parent = await this.deps.metadata.scans.target(p);
      const rec = parent && (await this.deps.metadata.scans.scan(p));
      if (parent && rec?.status === 'done') await this.aggregate(parent, rec.generation ?? 0);
    }
  }

  private async scanImage(target: ScanTarget, signal: AbortSignal): Promise<void> {
    const { metadata, clock } = this.deps;
    const startedAt = clock.now();
    const choice = this.deps.scanners ? await this.deps.scanners.scannerFor(target.projectId) : { kind: 'builtin' as const };
    // the inventory is recorded whichever scanner matches it: the SBOM and re-evaluation need it
    const inv = await this.inventories.inventoryOf(target, signal);
    signal.throwIfAborted();
    let findings: Finding[];
    let scanner = BUILTIN_SCANNER;
    let generation: number;
    if (choice.kind === 'adapter') {
      findings = await choice.scan({ projectId: target.projectId, repository: target.repositoryName, digest: target.digest, mediaType: target.mediaType }, signal);
      scanner = choice.name;
      generation = 0;
    } else {
      generation = await this.matcher.generation();
      findings = await this.matcher.match(inv.inventory);
    }
    signal.throwIfAborted();
    const prev = await metadata.scans.scan(target.manifestId);
    await this.store(target, { scanner, generation, findings, summary: summarizeFindings(findings), startedAt, endedAt: clock.now() }, prev);
  }

  /** An index is scanned through its children (images of the same repository); its report merges theirs. */
  private async scanIndex(target: ScanTarget, signal: AbortSignal): Promise<void> {
    const { metadata } = this.deps;
    const children = indexChildren(target.content).map((c) => c.digest).filter((d) => tryParseDigest(d));
    const ids = await metadata.artifacts.manifestIds(target.repositoryId, [...new Set(children)]);
    for (const id of ids.values()) {
      const child = await metadata.scans.target(id);
      if (!child || isIndexMediaType(child.mediaType)) continue;
      const m = await metadata.manifests.stat(child.repositoryId, child.digest);
      if (!m || !isScannable(m.mediaType, m.artifactType, m.subjectDigest)) continue;
      await this.scanImage(child, signal);
    }
    await this.aggregate(target, await this.matcher.generation());
  }

  /** Stores an index's report from its children's stored reports; true when its verdict changed. */
  private async aggregate(target: ScanTarget, generation: number): Promise<boolean> {
    const { metadata, clock } = this.deps;
    const children = indexChildren(target.content).map((c) => c.digest);
    const ids = [...(await metadata.artifacts.manifestIds(target.repositoryId, [...new Set(children)])).values()];
    const scans = await metadata.scans.scans(ids);
    const seen = new Set<string>();
    const findings: Finding[] = [];
    let startedAt = clock.now();
    let scanner = BUILTIN_SCANNER;
    for (const id of ids) {
      const s = scans.get(id);
      if (!s?.summary) continue;
      startedAt = Math.min(startedAt, s.startedAt ?? startedAt);
      scanner = s.scanner;
      for (const f of (await metadata.scans.findings(id)) ?? []) {
        // a layer two platforms share is reported once
        const key = `${f.id}\0${f.purl}\0${f.layerDigest}`;
        if (seen.has(key)) continue;
        seen.add(key);
        findings.push(f);
      }
    }
    findings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.purl < b.purl ? -1 : a.purl > b.purl ? 1 : 0));
    const prev = await metadata.scans.scan(target.manifestId);
    return this.store(target, { scanner, generation, findings, summary: summarizeFindings(findings), startedAt, endedAt: clock.now() }, prev);
  }

  /** Saves the result; a verdict that differs from the previous completed one is recorded. */
  private async store(target: StoreTarget, result: ScanResult, prev: ScanRecord | undefined): Promise<boolean> {
    return this.deps.metadata.transaction((tx) => this.storeIn(tx, target, result, prev));
  }

  private async storeIn(tx: MetadataRepos, target: StoreTarget, result: ScanResult, prev: ScanRecord | undefined): Promise<boolean> {
    const before = prev?.summary ?? undefined;
    const changed = before !== undefined && verdictChanged(before, result.summary);
    await tx.scans.saveResult(target.manifestId, result);
    await tx.findingIndex.replace(target.manifestId, result.findings);
    if (changed) {
      await tx.scans.addVerdictEvent({
        manifestId: target.manifestId,
        repositoryId: target.repositoryId,
        digest: target.digest,
        previousHighest: before.highest,
        highest: result.summary.highest,
        previousSummary: before,
        summary: result.summary,
        generation: result.generation,
        at: result.endedAt,
      });
      this.deps.log?.info({ repositoryId: target.repositoryId, digest: target.digest, from: before.highest, to: result.summary.highest }, 'scan verdict changed');
    }
    return changed;
  }

  private async enqueueIn(tx: MetadataRepos, manifestId: number): Promise<number> {
    const now = this.deps.clock.now();
    const { id, created } = await tx.jobs.enqueue({ kind: 'scan.artifact', payload: { manifestId }, dedupeKey: scanKey(manifestId) }, now);
    if (created) {
      await tx.scans.markPending(manifestId, id, randomUUID(), now);
      // after the commit, not before: the runner must see the row
      queueMicrotask(() => setImmediate(() => this.deps.onEnqueued?.()));
    }
    return id;
  }

  private async statusById(manifestId: number): Promise<ArtifactScanStatus> {
    const rec = await this.deps.metadata.scans.scan(manifestId);
    if (!rec) return { status: 'none' };
    const status = rec.status === 'stopped' ? 'error' : rec.status;
    const out: ArtifactScanStatus = { status };
    if (rec.error) out.error = rec.error;
    if (rec.summary) {
      out.findings = (await this.deps.metadata.scans.findings(manifestId)) ?? [];
      if (rec.generation !== null) out.generation = rec.generation;
      if (rec.endedAt !== null) out.completedAt = rec.endedAt;
    }
    return out;
  }

  /** Resolves when the job has finished (done, failed or cancelled), whichever instance ran it. */
  private async waitFor(jobId: number, signal?: AbortSignal): Promise<void> {
    const poll = this.deps.config?.waitPollMs ?? 250;
    for (;;) {
      signal?.throwIfAborted();
      const job = await this.deps.metadata.jobs.get(jobId);
      if (!job || job.state === 'done' || job.state === 'failed' || job.state === 'cancelled') return;
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(jobId) ?? new Set();
        this.waiters.set(jobId, set);
        const done = () => {
          clearTimeout(timer);
          set.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, poll);
        set.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** wakes the waiters of a job (they look at its state again) */
  wake(jobId: number): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    this.waiters.delete(jobId);
    // after the runner's own update of the job row
    setTimeout(() => {
      for (const w of set) w();
    }, 10);
  }

  private async resolve(name: RepoName, reference: string): Promise<{ repo: Repository; target: { id: number; digest: string; mediaType: string; artifactType: string | null; subjectDigest: string | null } }> {
    const { metadata } = this.deps;
    const repo = await metadata.repositories.getByName(name.value);
    if (!repo) throw notFound(`repository ${name.value} not found`);
    let m;
    if (reference.includes(':')) {
      const d = tryParseDigest(reference);
      if (!d) throw badRequest(`invalid digest ${reference.slice(0, 200)}`);
      m = await metadata.manifests.stat(repo.id, d.value);
    } else if (isValidTag(reference)) {
      m = await metadata.manifests.statByTag(repo.id, reference);
    }
    if (!m) throw notFound(`artifact ${repo.name}:${reference.slice(0, 200)} not found`);
    return { repo, target: m };
  }
}

type StoreTarget = Pick<ScanTarget, 'manifestId' | 'repositoryId' | 'digest'>;

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Matching for one re-evaluation pass, layer by layer: a finding belongs to one package at one
 * layer and path (the matcher looks each package up with the image's distribution only), so the
 * packages an image has from a layer, with the same distribution, match the same whatever image
 * they are in. Images share base layers: each such group is matched once per pass.
 */
function layerMatchCache(matcher: VulnerabilityMatcher, maxEntries = 10_000): (inv: ImageInventory) => Promise<Finding[]> {
  const cache = new Map<string, Finding[]>();
  return async (inv) => {
    const groups = new Map<string, ExtractedPackage[]>();
    for (const p of inv.packages) {
      const g = groups.get(p.layerDigest);
      if (g) g.push(p);
      else groups.set(p.layerDigest, [p]);
    }
    const out: Finding[] = [];
    for (const packages of groups.values()) {
      const key = createHash('sha256').update(JSON.stringify([inv.distro ?? null, packages])).digest('base64');
      let found = cache.get(key);
      if (!found) {
        found = await matcher.match({ ...(inv.distro ? { distro: inv.distro } : {}), packages, warnings: [] });
        if (cache.size >= maxEntries) cache.clear();
        cache.set(key, found);
      }
      out.push(...found);
    }
    return out.sort((x, y) => cmp(x.id, y.id) || cmp(x.purl, y.purl) || cmp(x.layerDigest, y.layerDigest) || cmp(x.path, y.path));
  };
}

export interface ReevaluationResult {
  generation: number;
  /** inventories matched again */
  matched: number;
  /** of those, how many changed verdict */
  changed: number;
  /** indexes aggregated again */
  indexes: number;
}

/** A verdict: the highest severity and the counts per severity. */
export function verdictChanged(a: SeveritySummary, b: SeveritySummary): boolean {
  if (a.highest !== b.highest || a.total !== b.total || a.fixable !== b.fixable) return true;
  const keys = new Set([...Object.keys(a.summary), ...Object.keys(b.summary)]) as Set<keyof SeveritySummary['summary']>;
  for (const k of keys) if ((a.summary[k] ?? 0) !== (b.summary[k] ?? 0)) return true;
  return false;
}
