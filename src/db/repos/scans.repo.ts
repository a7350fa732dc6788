import { randomUUID } from 'node:crypto';
import { type Kysely, type Selectable } from 'kysely';
import { CONFIG_TYPES } from '../../domain/artifact.js';
import { MediaType } from '../../domain/media-types.js';
import type { LayerInventory } from '../../domain/sbom.js';
import type { Severity } from '../../domain/severity.js';
import type { Finding, SeveritySummary } from '../../domain/vulnerability.js';
import type {
  ArtifactInventoryRecord,
  ScanAllRun,
  ScanRecord,
  ScanRepo,
  ScanResult,
  ScanSchedule,
  ScanStatus,
  ScanTarget,
  VerdictEvent,
} from '../../ports/scan-repo.js';
import type { ArtifactInventoriesTable, ArtifactScansTable, DB } from '../schema.js';
import { listed } from './manifest-rows.js';

const json = <T>(s: string): T => JSON.parse(s) as T;
const num = (v: number | null): number | null => (v === null ? null : Number(v));

function toScan(r: Selectable<ArtifactScansTable>): ScanRecord {
  return {
    manifestId: Number(r.manifest_id),
    status: r.status as ScanStatus,
    reportId: r.report_id,
    scanner: r.scanner,
    jobId: num(r.job_id),
    generation: num(r.generation),
    summary: r.summary === null ? null : json<SeveritySummary>(r.summary),
    error: r.error,
    startedAt: num(r.started_at),
    endedAt: num(r.ended_at),
    updatedAt: Number(r.updated_at),
  };
}

function toInventory(r: Selectable<ArtifactInventoriesTable>): ArtifactInventoryRecord {
  return {
    manifestId: Number(r.manifest_id),
    analyzerVersion: r.analyzer_version,
    inventory: json(r.inventory),
    image: json(r.image),
    createdAt: Number(r.created_at),
  };
}

/** Harbor scans images: image manifests and indexes without another artifactType. */
const IMAGE_CONFIGS: string[] = [...CONFIG_TYPES.IMAGE];
const INDEX_TYPES: string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

export class KyselyScanRepo implements ScanRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async target(manifestId: number): Promise<ScanTarget | undefined> {
    const r = await this.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.id', 'm.repository_id', 'r.name', 'r.project_id', 'm.digest', 'm.media_type', 'm.subject_digest', 'm.content'])
      .where('m.id', '=', manifestId)
      .executeTakeFirst();
    return (
      r && {
        manifestId: Number(r.id),
        repositoryId: Number(r.repository_id),
        repositoryName: r.name,
        projectId: Number(r.project_id),
        digest: r.digest,
        mediaType: r.media_type,
        subjectDigest: r.subject_digest,
        content: Buffer.from(r.content),
      }
    );
  }

  async autoScan(projectId: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('project_metadata')
      .select('value')
      .where('project_id', '=', projectId)
      .where('name', '=', 'auto_scan')
      .executeTakeFirst();
    return r?.value === 'true';
  }

  async knownLayers(digests: readonly string[], analyzerVersion: string): Promise<Set<string>> {
    if (digests.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('layer_inventories')
      .select('layer_digest')
      .where('analyzer_version', '=', analyzerVersion)
      .where('layer_digest', 'in', [...digests])
      .execute();
    return new Set(rows.map((r) => r.layer_digest));
  }

  async layers(digests: readonly string[], analyzerVersion: string): Promise<Map<string, LayerInventory>> {
    if (digests.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('layer_inventories')
      .select(['layer_digest', 'inventory'])
      .where('analyzer_version', '=', analyzerVersion)
      .where('layer_digest', 'in', [...digests])
      .execute();
    return new Map(rows.map((r) => [r.layer_digest, json<LayerInventory>(r.inventory)]));
  }

  async putLayer(inventory: LayerInventory, analyzerVersion: string, now: number): Promise<void> {
    await this.db
      .insertInto('layer_inventories')
      .values({
        layer_digest: inventory.layerDigest,
        analyzer_version: analyzerVersion,
        inventory: JSON.stringify(inventory),
        package_count: inventory.packages.length,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['layer_digest', 'analyzer_version']).doNothing())
      .execute();
  }

  async putInventory(rec: ArtifactInventoryRecord): Promise<void> {
    const values = {
      manifest_id: rec.manifestId,
      analyzer_version: rec.analyzerVersion,
      inventory: JSON.stringify(rec.inventory),
      image: JSON.stringify(rec.image),
      created_at: rec.createdAt,
    };
    await this.db
      .insertInto('artifact_inventories')
      .values(values)
      .onConflict((oc) =>
        oc.column('manifest_id').doUpdateSet({
          analyzer_version: values.analyzer_version,
          inventory: values.inventory,
          image: values.image,
          created_at: values.created_at,
        }),
      )
      .execute();
  }

  async inventory(manifestId: number): Promise<ArtifactInventoryRecord | undefined> {
    const r = await this.db.selectFrom('artifact_inventories').selectAll().where('manifest_id', '=', manifestId).executeTakeFirst();
    return r && toInventory(r);
  }

  async inventories(afterManifestId: number, limit: number): Promise<(ArtifactInventoryRecord & { projectId: number; repositoryId: number; digest: string })[]> {
    const rows = await this.db
      .selectFrom('artifact_inventories as i')
      .innerJoin('manifests as m', 'm.id', 'i.manifest_id')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .selectAll('i')
      .select(['r.project_id', 'm.repository_id', 'm.digest'])
      .where('i.manifest_id', '>', afterManifestId)
      .orderBy('i.manifest_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...toInventory(r), projectId: Number(r.project_id), repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  async scan(manifestId: number): Promise<ScanRecord | undefined> {
    const r = await this.db
      .selectFrom('artifact_scans')
      .select(SCAN_COLUMNS)
      .where('manifest_id', '=', manifestId)
      .executeTakeFirst();
    return r && toScan(r as Selectable<ArtifactScansTable>);
  }

  async scans(manifestIds: readonly number[]): Promise<Map<number, ScanRecord>> {
    if (manifestIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('artifact_scans')
      .select(SCAN_COLUMNS)
      .where('manifest_id', 'in', [...manifestIds])
      .execute();
    return new Map(rows.map((r) => [Number(r.manifest_id), toScan(r as Selectable<ArtifactScansTable>)]));
  }

  async findings(manifestId: number): Promise<Finding[] | undefined> {
    const r = await this.db.selectFrom('artifact_scans').select('findings').where('manifest_id', '=', manifestId).executeTakeFirst();
    return r?.findings ? json<Finding[]>(r.findings) : undefined;
  }

  async markPending(manifestId: number, jobId: number, reportId: string, now: number): Promise<void> {
    await this.db
      .insertInto('artifact_scans')
      .values({ manifest_id: manifestId, status: 'pending', report_id: reportId, job_id: jobId, updated_at: now })
      .onConflict((oc) => oc.column('manifest_id').doUpdateSet({ status: 'pending', report_id: reportId, job_id: jobId, error: null, updated_at: now }))
      .execute();
  }

  async markRunning(manifestId: number, now: number): Promise<void> {
    await this.db
      .updateTable('artifact_scans')
      .set({ status: 'running', started_at: now, ended_at: null, updated_at: now })
      .where('manifest_id', '=', manifestId)
      .execute();
  }

  async saveResult(manifestId: number, r: ScanResult): Promise<void> {
    const set = {
      status: 'done',
      scanner: r.scanner,
      generation: r.generation,
      findings: JSON.stringify(r.findings),
      highest: r.summary.highest,
      total: r.summary.total,
      fixable: r.summary.fixable,
      summary: JSON.stringify(r.summary),
      error: null,
      started_at: r.startedAt,
      ended_at: r.endedAt,
      updated_at: r.endedAt,
    };
    await this.db
      .insertInto('artifact_scans')
      .values({ manifest_id: manifestId, report_id: randomUUID(), ...set })
      .onConflict((oc) => oc.column('manifest_id').doUpdateSet(set))
      .execute();
  }

  async markFailed(manifestId: number, status: 'error' | 'stopped', error: string, now: number): Promise<void> {
    await this.db
      .updateTable('artifact_scans')
      .set({ status, error: error.slice(0, 2000), ended_at: now, updated_at: now })
      .where('manifest_id', '=', manifestId)
      .execute();
  }

  async doneScans(afterManifestId: number, limit: number): Promise<ScanRecord[]> {
    const rows = await this.db
      .selectFrom('artifact_scans')
      .select(SCAN_COLUMNS)
      .where('manifest_id', '>', afterManifestId)
      .where('status', '=', 'done')
      .orderBy('manifest_id')
      .limit(limit)
      .execute();
    return rows.map((r) => toScan(r as Selectable<ArtifactScansTable>));
  }

  async addVerdictEvent(e: Omit<VerdictEvent, 'id'>): Promise<number> {
    const r = await this.db
      .insertInto('scan_verdict_events')
      .values({
        manifest_id: e.manifestId,
        repository_id: e.repositoryId,
        digest: e.digest,
        previous_highest: e.previousHighest,
        highest: e.highest,
        previous_summary: JSON.stringify(e.previousSummary),
        summary: JSON.stringify(e.summary),
        generation: e.generation,
        at: e.at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  async verdictEvents(afterId: number, limit: number): Promise<VerdictEvent[]> {
    const rows = await this.db.selectFrom('scan_verdict_events').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      manifestId: Number(r.manifest_id),
      repositoryId: Number(r.repository_id),
      digest: r.digest,
      previousHighest: r.previous_highest as Severity,
      highest: r.highest as Severity,
      previousSummary: json(r.previous_summary),
      summary: json(r.summary),
      generation: Number(r.generation),
      at: Number(r.at),
    }));
  }

  async schedule(name: string): Promise<ScanSchedule | undefined> {
    const r = await this.db.selectFrom('scan_schedules').selectAll().where('name', '=', name).executeTakeFirst();
    return (
      r && {
        type: r.type as ScanSchedule['type'],
        cron: r.cron,
        nextRunAt: num(r.next_run_at),
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
      }
    );
  }

  async putSchedule(name: string, s: Omit<ScanSchedule, 'createdAt'>): Promise<void> {
    await this.db
      .insertInto('scan_schedules')
      .values({ name, type: s.type, cron: s.cron, next_run_at: s.nextRunAt, created_at: s.updatedAt, updated_at: s.updatedAt })
      .onConflict((oc) => oc.column('name').doUpdateSet({ type: s.type, cron: s.cron, next_run_at: s.nextRunAt, updated_at: s.updatedAt }))
      .execute();
  }

  async advanceSchedule(name: string, expected: number, next: number | null, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('scan_schedules')
      .set({ next_run_at: next, updated_at: now })
      .where('name', '=', name)
      .where('next_run_at', '=', expected)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async createScanAllRun(trigger: ScanAllRun['trigger'], now: number): Promise<ScanAllRun> {
    const r = await this.db
      .insertInto('scan_all_runs')
      .values({ trigger, status: 'Running', started_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: Number(r.id), trigger, status: 'Running', total: 0, startedAt: now, endedAt: null };
  }

  async updateScanAllRun(id: number, patch: Partial<Pick<ScanAllRun, 'status' | 'total' | 'endedAt'>>): Promise<void> {
    const set = {
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.total !== undefined ? { total: patch.total } : {}),
      ...(patch.endedAt !== undefined ? { ended_at: patch.endedAt } : {}),
    };
    if (Object.keys(set).length) await this.db.updateTable('scan_all_runs').set(set).where('id', '=', id).execute();
  }

  async latestScanAllRun(trigger?: ScanAllRun['trigger']): Promise<ScanAllRun | undefined> {
    let q = this.db.selectFrom('scan_all_runs').selectAll().orderBy('id', 'desc').limit(1);
    if (trigger) q = q.where('trigger', '=', trigger);
    const r = await q.executeTakeFirst();
    return (
      r && {
        id: Number(r.id),
        trigger: r.trigger as ScanAllRun['trigger'],
        status: r.status as ScanAllRun['status'],
        total: Number(r.total),
        startedAt: Number(r.started_at),
        endedAt: num(r.ended_at),
      }
    );
  }

  async scannableManifests(afterManifestId: number, limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('manifests as m')
      .select('m.id')
      .where('m.id', '>', afterManifestId)
      .where((eb) =>
        eb.or([eb('m.artifact_type', 'in', IMAGE_CONFIGS), eb.and([eb('m.artifact_type', 'is', null), eb('m.media_type', 'in', INDEX_TYPES)])]),
      )
      // listed artifacts only: an index's children are scanned through it, accessories are not images
      .where(listed)
      .orderBy('m.id')
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.id));
  }
}

// every column but the findings, which can be large: listings read only summaries
const SCAN_COLUMNS = [
  'manifest_id',
  'status',
  'report_id',
  'scanner',
  'job_id',
  'generation',
  'highest',
  'total',
  'fixable',
  'summary',
  'error',
  'started_at',
  'ended_at',
  'updated_at',
] as const;
