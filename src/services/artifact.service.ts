import { typeSelector } from '../domain/artifact.js';
import { tryParseDigest } from '../domain/digest.js';
import { badRequest, conflict, notFound, preconditionFailed } from '../domain/errors.js';
import { parseManifest } from '../domain/manifest.js';
import { principalName } from '../domain/permission.js';
import { anyOf, asInt, asTime, checkConditions, checkSort, type Condition, parseQuery, parseSort } from '../domain/query.js';
import type { ManifestWithContent, Repository } from '../domain/records.js';
import { isValidTag } from '../domain/reference.js';
import type { RepoName } from '../domain/repo-name.js';
import type { ArtifactFilter, ArtifactSortKey, NameMatch, SortBy, TagRecord } from '../ports/catalog-repos.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, MetadataRepos, Page } from '../ports/metadata.js';
import type { ArchiveFiles } from '../ports/archive-files.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import { type ArtifactView, ArtifactViews, type ViewOptions } from './artifact-views.js';
import { type Actor, type ListParams, repositoryNameOf } from './repository.service.js';
import { blobPath } from './storage-paths.js';

/** An image config is a few KiB; a larger "config" is not read for its history. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
const HELM_CONTENT = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
/** a chart's values.yaml or README: larger ones are not served */
const MAX_CHART_FILE_BYTES = 4 * 1024 * 1024;
/** decompressed bytes read out of a chart's tarball */
const MAX_CHART_BYTES = 64 * 1024 * 1024;

const ARTIFACT_KEYS = {
  tags: ['exact', 'fuzzy', 'or'],
  labels: ['exact', 'or', 'and'],
  type: ['exact', 'or'],
  media_type: ['exact', 'or'],
  digest: ['exact', 'or'],
  push_time: ['range'],
  base: ['exact'],
} as const;
// push_time is push order: manifest ids grow with every push (and copy)
const ARTIFACT_SORTS: Record<string, ArtifactSortKey> = { push_time: 'id', id: 'id', digest: 'digest' };
const TAG_KEYS = { name: ['exact', 'fuzzy', 'or'] } as const;
const TAG_SORTS = ['name', 'push_time', 'id'] as const;

/** A copy source, `project/repo:tag` or `project/repo@digest` (Harbor's `from`). */
export function parseCopySource(from: string): { repository: RepoName; reference: string } {
  const at = from.indexOf('@');
  const colon = at < 0 ? from.lastIndexOf(':') : -1;
  const cut = at >= 0 ? at : colon > from.lastIndexOf('/') ? colon : -1;
  if (cut <= 0 || cut === from.length - 1) throw badRequest(`invalid input: ${from.slice(0, 300)}; use project/repository:tag or project/repository@digest`);
  const name = from.slice(0, cut);
  const slash = name.indexOf('/');
  if (slash <= 0) throw badRequest(`invalid input: ${from.slice(0, 300)}`);
  return { repository: repositoryNameOf(name.slice(0, slash), name.slice(slash + 1)), reference: from.slice(cut + 1) };
}

/** Harbor's artifacts: listing (keyset underneath), lookup, delete, copy, tags and labels. */
export class ArtifactService {
  private readonly views: ArtifactViews;

  constructor(private readonly deps: { metadata: Metadata; storage: StorageDriver; clock: Clock; archives?: ArchiveFiles }) {
    this.views = new ArtifactViews(deps);
  }

  async list(name: RepoName, p: ListParams, opts: ViewOptions): Promise<Page<ArtifactView>> {
    const repo = await this.repository(name);
    const conds = parseQuery(p.q);
    checkConditions(conds, ARTIFACT_KEYS);
    const sort = parseSort(p.sort);
    checkSort(sort, Object.keys(ARTIFACT_SORTS));
    // newest first, as Harbor lists them; one key decides (ids and digests are unique)
    const first = sort[0];
    const order: SortBy<ArtifactSortKey> = first ? { key: ARTIFACT_SORTS[first.key]!, desc: first.desc } : { key: 'id', desc: true };
    const page = await this.deps.metadata.artifacts.list(repo.id, artifactFilter(conds), order, { offset: p.offset, limit: p.limit });
    return { total: page.total, items: await this.views.build(repo, page.items, opts) };
  }

  /**
   * Harbor's `additions/build_history`: the config's `history`, as the config has it (empty when
   * the config has none, as a chart's). An index has no config (404).
   */
  async buildHistory(name: RepoName, reference: string): Promise<unknown[]> {
    const repo = await this.repository(name);
    const m = await resolve(this.deps.metadata, repo, reference);
    const config = parseManifest(m.content, m.mediaType).config;
    const digest = config && tryParseDigest(config.digest);
    if (!config || !digest) throw notFound(`${repo.name}@${m.digest} has no image config: build history is for images (an index: ask one of its children)`);
    if (config.size > MAX_CONFIG_BYTES) throw notFound(`the config of ${repo.name}@${m.digest} is larger than ${MAX_CONFIG_BYTES} bytes: no build history is read from it`);
    let doc: unknown;
    try {
      doc = JSON.parse((await this.deps.storage.getContent(blobPath(digest))).toString('utf8'));
    } catch {
      throw notFound(`the config of ${repo.name}@${m.digest} is not JSON: no build history`);
    }
    const history = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>)['history'] : undefined;
    return Array.isArray(history) ? history : [];
  }

  /**
   * Harbor's Helm chart additions: `values.yaml` and `readme.md` from the chart's tarball (the
   * files at the top of its one directory), `dependencies` from the chart's config (Chart.yaml as
   * JSON). 404 for an artifact that is not a Helm chart or a chart without the file.
   */
  async chartAddition(name: RepoName, reference: string, addition: 'values.yaml' | 'readme.md' | 'dependencies'): Promise<{ contentType: string; body: string | unknown[] }> {
    const repo = await this.repository(name);
    const m = await resolve(this.deps.metadata, repo, reference);
    const doc = parseManifest(m.content, m.mediaType);
    if (doc.config?.mediaType !== HELM_CONFIG) throw notFound(`${repo.name}@${m.digest} is not a Helm chart: ${addition} is a chart addition`);
    if (addition === 'dependencies') {
      const config = await this.readJsonBlob(doc.config.digest, doc.config.size);
      const deps = config && Array.isArray(config['dependencies']) ? config['dependencies'] : [];
      return { contentType: 'application/json; charset=utf-8', body: deps };
    }
    const layer = doc.blobs.find((b) => b.mediaType === HELM_CONTENT);
    const digest = layer && tryParseDigest(layer.digest);
    if (!layer || !digest || !this.deps.archives) throw notFound(`${repo.name}@${m.digest} has no chart content layer`);
    const wanted = addition === 'values.yaml' ? 'values.yaml' : 'readme.md';
    // the chart's files are under its one top directory: <chart>/values.yaml, <chart>/README.md
    const files = await this.deps.archives.read(
      await this.deps.storage.reader(blobPath(digest)),
      (path) => {
        const parts = path.split('/');
        return parts.length === 2 && parts[1]!.toLowerCase() === wanted;
      },
      { maxFileBytes: MAX_CHART_FILE_BYTES, maxBytes: MAX_CHART_BYTES },
    );
    const found = [...files.entries()].sort(([a], [b]) => a.localeCompare(b))[0];
    if (!found) throw notFound(`the chart ${repo.name}@${m.digest} has no ${addition}`);
    return { contentType: addition === 'values.yaml' ? 'text/plain; charset=utf-8' : 'text/markdown; charset=utf-8', body: found[1].toString('utf8') };
  }

  private async readJsonBlob(digestText: string, size: number): Promise<Record<string, unknown> | undefined> {
    const digest = tryParseDigest(digestText);
    if (!digest || size > MAX_CONFIG_BYTES) return undefined;
    try {
      const v: unknown = JSON.parse((await this.deps.storage.getContent(blobPath(digest))).toString('utf8'));
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  async get(name: RepoName, reference: string, opts: ViewOptions): Promise<ArtifactView> {
    const repo = await this.repository(name);
    const m = await resolve(this.deps.metadata, repo, reference);
    return (await this.views.build(repo, [m], opts))[0]!;
  }

  /**
   * Deletes the artifact, its tags and accessories, and the children of an index that nothing
   * else references or tags. An artifact that an index still references is refused (412), as
   * Harbor does.
   */
  async delete(actor: Actor, name: RepoName, reference: string): Promise<void> {
    const repo = await this.repository(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await resolve(tx, repo, reference);
      if ((await tx.artifacts.parentsOf(repo.id, m.digest)).length) {
        throw preconditionFailed(`the artifact ${m.digest} is referenced by an index of ${repo.name}; delete the index first`);
      }
      const deleted: string[] = [];
      await deleteDeep(tx, repo, m, deleted);
      await tx.audit.append({ ...audit(actor, repo, now), operation: 'delete', resourceType: 'artifact', resource: `${repo.name}@${m.digest}`, detail: { deleted } });
    });
  }

  /**
   * Copies an artifact (with its children, accessories and tags) into `target`, creating the
   * repository in its project when needed. Nothing is copied in storage: blobs are content
   * addressed, so linking them into the target repository is the copy.
   */
  async copy(actor: Actor, target: RepoName, source: { repository: RepoName; reference: string }): Promise<{ digest: string }> {
    const { metadata, clock } = this.deps;
    const src = await this.repository(source.repository);
    const project = await metadata.projects.getByName(target.project);
    if (!project) throw notFound(`project ${target.project} not found`);
    const now = clock.now();
    return metadata.transaction(async (tx) => {
      const root = await resolve(tx, src, source.reference);
      const dst = await tx.repositories.ensure(project.id, target.value, now);
      if (dst.id === src.id || (await tx.manifests.stat(dst.id, root.digest))) {
        throw conflict(`the artifact ${target.value}@${root.digest} exists already`);
      }
      const copied = await copyDeep(tx, src, dst, root, now);
      for (const t of (await tx.artifacts.tagsOf([root.id])).get(root.id) ?? []) await tx.tags.put(dst.id, t.name, copied, now);
      await tx.repositories.touch(dst.id, now);
      await tx.audit.append({
        ...audit(actor, dst, now),
        operation: 'create',
        resourceType: 'artifact',
        resource: `${dst.name}@${root.digest}`,
        detail: { from: `${src.name}@${root.digest}` },
      });
      return { digest: root.digest };
    });
  }

  async listTags(name: RepoName, reference: string, p: ListParams): Promise<Page<TagRecord>> {
    const repo = await this.repository(name);
    const m = await resolve(this.deps.metadata, repo, reference);
    const conds = parseQuery(p.q);
    checkConditions(conds, TAG_KEYS);
    const sort = parseSort(p.sort);
    checkSort(sort, TAG_SORTS);
    const n = conds.get('name');
    const filter: { name?: NameMatch } = n ? { name: n.op === 'fuzzy' ? { fuzzy: n.value } : { exact: anyOf(n)! } } : {};
    const s = sort[0];
    return this.deps.metadata.artifacts.listTags(m.id, filter, s ? { key: s.key as (typeof TAG_SORTS)[number], desc: s.desc } : { key: 'name', desc: false }, {
      offset: p.offset,
      limit: p.limit,
    });
  }

  /** A new tag on the artifact; 409 when the repository has that tag already. */
  async createTag(actor: Actor, name: RepoName, reference: string, tag: string): Promise<void> {
    if (!isValidTag(tag)) throw badRequest(`invalid tag name ${JSON.stringify(tag.slice(0, 200))}`);
    const repo = await this.repository(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await resolve(tx, repo, reference);
      await tx.artifacts.createTag(repo.id, m.id, tag, now);
      await tx.repositories.touch(repo.id, now);
      await tx.audit.append({ ...audit(actor, repo, now), operation: 'create', resourceType: 'tag', resource: `${repo.name}:${tag}`, detail: { digest: m.digest } });
    });
  }

  async deleteTag(actor: Actor, name: RepoName, reference: string, tag: string): Promise<void> {
    const repo = await this.repository(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await resolve(tx, repo, reference);
      const attached = ((await tx.artifacts.tagsOf([m.id])).get(m.id) ?? []).some((t) => t.name === tag);
      if (!attached || !(await tx.tags.delete(repo.id, tag))) throw notFound(`tag ${tag.slice(0, 200)} attached to artifact ${m.id} not found`);
      await tx.audit.append({ ...audit(actor, repo, now), operation: 'delete', resourceType: 'tag', resource: `${repo.name}:${tag}`, detail: { digest: m.digest } });
    });
  }

  /** Attaches a global label or one of the artifact's project; 409 when attached already. */
  async addLabel(actor: Actor, name: RepoName, reference: string, labelId: number): Promise<void> {
    const repo = await this.repository(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await resolve(tx, repo, reference);
      const label = await tx.labels.get(labelId);
      if (!label) throw notFound(`label ${labelId} not found`);
      if (label.scope === 'p' && label.projectId !== repo.projectId) throw badRequest(`label ${labelId} belongs to another project`);
      if (!(await tx.labels.attach(m.id, labelId, now))) throw conflict(`label ${labelId} is attached to the artifact already`);
      await tx.audit.append({ ...audit(actor, repo, now), operation: 'create', resourceType: 'artifact-label', resource: `${repo.name}@${m.digest}`, detail: { label: label.name } });
    });
  }

  async removeLabel(actor: Actor, name: RepoName, reference: string, labelId: number): Promise<void> {
    const repo = await this.repository(name);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await resolve(tx, repo, reference);
      if (!(await tx.labels.detach(m.id, labelId))) throw notFound(`label ${labelId} is not attached to the artifact`);
      await tx.audit.append({ ...audit(actor, repo, now), operation: 'delete', resourceType: 'artifact-label', resource: `${repo.name}@${m.digest}`, detail: { label: labelId } });
    });
  }

  private async repository(name: RepoName): Promise<Repository> {
    const r = await this.deps.metadata.repositories.getByName(name.value);
    if (!r) throw notFound(`repository ${name.value} not found`);
    return r;
  }
}

function audit(actor: Actor, repo: Repository, at: number) {
  return { operator: principalName(actor.principal), projectId: repo.projectId, sourceIp: actor.sourceIp, result: 'success' as const, at };
}

/** A tag or a digest of the repository; Harbor answers 404 for either when it is absent. */
async function resolve(md: Pick<MetadataRepos, 'manifests'>, repo: Repository, reference: string): Promise<ManifestWithContent> {
  let m: ManifestWithContent | undefined;
  if (reference.includes(':')) {
    const d = tryParseDigest(reference);
    if (!d) throw badRequest(`invalid digest ${reference.slice(0, 200)}`);
    m = await md.manifests.get(repo.id, d.value);
  } else if (isValidTag(reference)) {
    m = await md.manifests.getByTag(repo.id, reference);
  }
  if (!m) throw notFound(`artifact ${repo.name}:${reference.slice(0, 200)} not found`);
  return m;
}

async function deleteDeep(tx: MetadataRepos, repo: Repository, m: ManifestWithContent, deleted: string[]): Promise<void> {
  for (const a of await tx.artifacts.accessoriesOf(repo.id, [m.digest])) {
    const full = await tx.manifests.get(repo.id, a.digest);
    if (full) await deleteDeep(tx, repo, full, deleted);
  }
  const children = parseManifest(m.content, m.mediaType).children.map((c) => c.digest);
  if (!(await tx.manifests.delete(repo.id, m.digest))) return;
  await tx.blobs.unlink(repo.id, m.digest);
  deleted.push(m.digest);
  for (const digest of new Set(children)) {
    const c = await tx.manifests.get(repo.id, digest);
    if (!c || (await tx.artifacts.parentsOf(repo.id, digest)).length) continue;
    if (((await tx.artifacts.tagsOf([c.id])).get(c.id) ?? []).length) continue;
    await deleteDeep(tx, repo, c, deleted);
  }
}

/** Copies the manifest after its children; returns its id in the target. */
async function copyDeep(tx: MetadataRepos, src: Repository, dst: Repository, m: ManifestWithContent, now: number): Promise<number> {
  const existing = await tx.manifests.stat(dst.id, m.digest);
  if (existing) return existing.id;
  const parsed = parseManifest(m.content, m.mediaType);
  for (const child of parsed.children) {
    const c = await tx.manifests.get(src.id, child.digest);
    if (!c) throw notFound(`the index ${m.digest} references ${child.digest}, which ${src.name} does not hold`);
    await copyDeep(tx, src, dst, c, now);
  }
  for (const b of parsed.blobs) await tx.blobs.link(dst.id, b.digest, now);
  await tx.blobs.link(dst.id, m.digest, now);
  const row = await tx.manifests.put({
    repositoryId: dst.id,
    digest: m.digest,
    mediaType: m.mediaType,
    artifactType: m.artifactType,
    size: m.size,
    subjectDigest: m.subjectDigest,
    annotations: m.annotations,
    content: m.content,
    blobDigests: parsed.blobs.map((b) => b.digest),
    childDigests: parsed.children.map((c) => c.digest),
    now,
  });
  // signatures and other referrers travel with their subject, as Harbor copies accessories
  for (const a of await tx.artifacts.accessoriesOf(src.id, [m.digest])) {
    const full = await tx.manifests.get(src.id, a.digest);
    if (full) await copyDeep(tx, src, dst, full, now);
  }
  return row.id;
}

function artifactFilter(conds: ReadonlyMap<string, Condition>): ArtifactFilter {
  const f: { -readonly [K in keyof ArtifactFilter]: ArtifactFilter[K] } = {};
  for (const [key, c] of conds) {
    switch (key) {
      case 'base':
        if (c.op !== 'exact' || c.value !== '*') throw badRequest('base supports only base=*');
        f.all = true;
        break;
      case 'tags':
        if (c.op === 'fuzzy') f.tags = { fuzzy: c.value };
        else if (c.op === 'exact' && c.value === '*') f.tags = { any: true };
        else if (c.op === 'exact' && c.value === 'nil') f.tags = { none: true };
        else f.tags = { exact: anyOf(c)! };
        break;
      case 'labels': {
        const ids = (c.op === 'exact' ? [c.value] : anyOf(c) ?? (c.op === 'and' ? c.values : [])).map((v) => asInt('labels', v));
        if (c.op === 'or') f.labelsAny = ids;
        else f.labelsAll = ids;
        break;
      }
      case 'type':
        f.types = anyOf(c)!.map(typeSelector);
        break;
      case 'media_type':
        f.mediaTypes = anyOf(c)!;
        break;
      case 'digest':
        f.digests = anyOf(c)!;
        break;
      case 'push_time':
        if (c.op === 'range') {
          if (c.min !== undefined) f.pushedFrom = asTime('push_time', c.min);
          if (c.max !== undefined) f.pushedTo = asTime('push_time', c.max);
        }
        break;
    }
  }
  return f;
}
