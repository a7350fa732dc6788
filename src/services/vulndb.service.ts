import type { Clock } from '../ports/clock.js';
import type { FeedSpec, MirrorClient, VulnFeedReader, VulndbRepo, VulnSource, VulnSourceKind } from '../ports/vulndb-repo.js';
import { lookupName } from './vulndb-ecosystem.js';

export interface VulndbConfig {
  /** Base URL of an osv.dev-style bucket: `<mirrorUrl>/<Ecosystem>/all.zip`. Unset: no updates. */
  mirrorUrl?: string;
  ecosystems: readonly string[];
  kevUrl?: string;
  epssUrl?: string;
  /** 0: no scheduled updates (an update can still be asked for). */
  updateIntervalSeconds: number;
}

export interface VulndbLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SkippedRecord {
  where: string;
  reason: string;
}

export interface ImportResult {
  source: string;
  kind: VulnSourceKind;
  records: number;
  skipped: number;
  /** The first few records left out, with why. */
  skippedSamples: SkippedRecord[];
  generation: number;
}

export type UpdateOutcome =
  | ({ status: 'updated'; url: string } & ImportResult)
  | { status: 'not-modified'; source: string; url: string }
  | { status: 'failed'; source: string; url: string; error: string };

export interface UpdateResult {
  generation: number;
  feeds: UpdateOutcome[];
}

export interface VulndbStatus {
  generation: number;
  sources: VulnSource[];
  mirror: { url?: string; updateIntervalSeconds: number; updating: boolean; lastRun?: { at: number; feeds: UpdateOutcome[] } };
}

const SAMPLES = 20;
// an import that died with its process leaves a copy nobody points at; one a day old is dead
const STALE_MS = 24 * 3600 * 1000;

/** A URL as it may be shown and stored: without user:password. */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Imports vulnerability feeds into the database, each source as a whole: the new copy becomes
 * visible in one switch, and a failure leaves the old copy in place. Also runs the mirror
 * update (on demand and on a schedule) and tells subscribers when the data changed.
 */
export class VulndbService {
  private readonly listeners: ((generation: number) => void | Promise<void>)[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private updating = false;
  private lastRun: { at: number; feeds: UpdateOutcome[] } | undefined;

  constructor(
    private readonly deps: {
      repo: VulndbRepo;
      feeds: VulnFeedReader;
      mirror?: MirrorClient;
      clock: Clock;
      config: VulndbConfig;
      /** Called after each import or update that changed data (re-evaluation of stored scans). */
      onChange?: (generation: number) => void | Promise<void>;
      log?: VulndbLog;
    },
  ) {
    if (deps.onChange) this.listeners.push(deps.onChange);
  }

  /** Adds a listener called like `onChange`. */
  subscribe(fn: (generation: number) => void | Promise<void>): void {
    this.listeners.push(fn);
  }

  /** One import or update at a time in this process: they queue. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.running.then(fn, fn);
    this.running = next.catch(() => undefined);
    return next;
  }

  private async notify(generation: number): Promise<void> {
    for (const fn of this.listeners) {
      try {
        await fn(generation);
      } catch (e) {
        this.deps.log?.warn({ generation, err: e instanceof Error ? e.message : String(e) }, 'vulndb change listener failed');
      }
    }
  }

  /** The sources at each path (docs/vulndb.md), each imported as a whole. */
  async import(paths: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<ImportResult[]> {
    const specs: FeedSpec[] = [];
    for (const p of paths) specs.push(...(await this.deps.feeds.detect(p)));
    return this.serial(async () => {
      const out: ImportResult[] = [];
      try {
        for (const spec of specs) out.push(await this.importSpec(spec, {}, opts.signal));
      } finally {
        const last = out.at(-1);
        if (last) await this.notify(last.generation);
      }
      return out;
    });
  }

  private async importSpec(spec: FeedSpec, origin: { url?: string; etag?: string; lastModified?: string }, signal?: AbortSignal): Promise<ImportResult> {
    const { repo, feeds, clock } = this.deps;
    await repo.removeStaleBatches(clock.now() - STALE_MS);
    const writer = await repo.beginBatch(spec.source, spec.kind, clock.now());
    let records = 0;
    let skipped = 0;
    const samples: SkippedRecord[] = [];
    const skip = (where: string, reason: string): void => {
      skipped++;
      if (samples.length < SAMPLES) samples.push({ where, reason });
    };
    try {
      for await (const item of feeds.read(spec, signal)) {
        if (item.type === 'skipped') skip(item.where, item.reason);
        else if (item.type === 'advisory') {
          const lookupNames = item.record.affected.map((a) => lookupName(a.ecosystem, a.name));
          if (await writer.addAdvisory({ ...item.record, lookupNames })) records++;
          else skip(item.record.advisory.id, 'duplicate id');
        } else if (item.type === 'kev') {
          if (await writer.addKev(item.cve)) records++;
          else skip(item.cve, 'duplicate CVE');
        } else if (await writer.addEpss(item.row)) records++;
        else skip(item.row.cve, 'duplicate CVE');
      }
      const generation = await writer.commit({ records, skipped, now: clock.now(), ...origin });
      this.deps.log?.info({ source: spec.source, records, skipped, generation }, 'vulndb source imported');
      return { source: spec.source, kind: spec.kind, records, skipped, skippedSamples: samples, generation };
    } catch (e) {
      await writer.abort().catch(() => undefined);
      throw e;
    }
  }

  /** The feeds the mirror configuration names. */
  mirrorFeeds(): { source: string; kind: VulnSourceKind; url: string }[] {
    const c = this.deps.config;
    const out: { source: string; kind: VulnSourceKind; url: string }[] = [];
    if (c.mirrorUrl) {
      const base = c.mirrorUrl.replace(/\/+$/, '');
      for (const eco of c.ecosystems) out.push({ source: `osv:${eco}`, kind: 'osv', url: `${base}/${encodeURIComponent(eco)}/all.zip` });
    }
    if (c.kevUrl) out.push({ source: 'kev', kind: 'kev', url: c.kevUrl });
    if (c.epssUrl) out.push({ source: 'epss', kind: 'epss', url: c.epssUrl });
    return out;
  }

  /**
   * Asks the mirror for each feed with the validators of the copy held (If-None-Match,
   * If-Modified-Since); a changed feed is imported as a whole, a failed one keeps its old copy.
   */
  update(): Promise<UpdateResult> {
    const { mirror, repo, clock } = this.deps;
    const feeds = this.mirrorFeeds();
    if (!mirror || feeds.length === 0) return Promise.reject(new Error('no vulnerability database mirror is configured (vulndb.mirrorUrl)'));
    return this.serial(async () => {
      this.updating = true;
      const outcomes: UpdateOutcome[] = [];
      let changed: number | undefined;
      try {
        for (const f of feeds) {
          const shown = publicUrl(f.url);
          const held = await repo.source(f.source);
          const cond = held && held.updatedAt !== undefined && held.url === shown ? { ...(held.etag ? { etag: held.etag } : {}), ...(held.lastModified ? { lastModified: held.lastModified } : {}) } : {};
          try {
            const res = await mirror.fetch(f.url, { ...cond, signal: this.abort.signal });
            if (res.status === 'not-modified') {
              await repo.noteCheck(f.source, f.kind, { now: clock.now(), url: shown });
              outcomes.push({ status: 'not-modified', source: f.source, url: shown });
              continue;
            }
            try {
              const r = await this.importSpec(
                { source: f.source, kind: f.kind, path: res.path, ...(f.kind === 'osv' ? { format: 'zip' as const } : {}) },
                { url: shown, ...(res.etag ? { etag: res.etag } : {}), ...(res.lastModified ? { lastModified: res.lastModified } : {}) },
                this.abort.signal,
              );
              changed = r.generation;
              outcomes.push({ status: 'updated', url: shown, ...r });
            } finally {
              await res.dispose();
            }
          } catch (e) {
            const error = e instanceof Error ? e.message : String(e);
            this.deps.log?.warn({ source: f.source, url: shown, err: error }, 'vulndb mirror update failed; the old data stays');
            await repo.noteCheck(f.source, f.kind, { now: clock.now(), url: shown, error }).catch(() => undefined);
            outcomes.push({ status: 'failed', source: f.source, url: shown, error });
          }
        }
      } finally {
        this.updating = false;
        this.lastRun = { at: clock.now(), feeds: outcomes };
        if (changed !== undefined) await this.notify(changed);
      }
      return { generation: await repo.generation(), feeds: outcomes };
    });
  }

  async status(): Promise<VulndbStatus> {
    const c = this.deps.config;
    return {
      generation: await this.deps.repo.generation(),
      sources: await this.deps.repo.sources(),
      mirror: {
        ...(c.mirrorUrl ? { url: publicUrl(c.mirrorUrl) } : {}),
        updateIntervalSeconds: c.updateIntervalSeconds,
        updating: this.updating,
        ...(this.lastRun ? { lastRun: this.lastRun } : {}),
      },
    };
  }

  /** Starts the scheduled update: at once, then every `updateIntervalSeconds`. */
  start(): void {
    const every = this.deps.config.updateIntervalSeconds;
    if (this.timer || every <= 0 || !this.deps.mirror || this.mirrorFeeds().length === 0) return;
    const run = (): void => {
      this.update()
        .catch((e: unknown) => this.deps.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'vulndb scheduled update failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(run, every * 1000).unref();
        });
    };
    this.timer = setTimeout(run, 0).unref();
  }

  /** Stops the schedule and cuts short a running update (its source keeps the old data). */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running;
    this.abort = new AbortController();
  }
}
