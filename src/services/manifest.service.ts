import { digestOf, parseDigest } from '../domain/digest.js';
import { digestInvalid, manifestBlobUnknown, manifestInvalid, manifestUnknown, RegistryError } from '../domain/errors.js';
import { type Descriptor, type ParsedManifest, parseManifest } from '../domain/manifest.js';
import { essence, isIndexMediaType } from '../domain/media-types.js';
import type { ManifestRecord, ManifestWithContent, Repository } from '../domain/records.js';
import { isValidTag, parseLookupReference, parseReference, type Reference } from '../domain/reference.js';
import type { RepoName } from '../domain/repo-name.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import type { StorageDriver } from '../ports/storage-driver.js';
import { type Actor, type AuditService, actorFields } from './audit.service.js';
import type { PullGate } from './pull-gate.service.js';
import type { RepositoryResolver } from './repositories.js';
import { blobPath } from './storage-paths.js';

export interface PutManifestResult {
  digest: string;
  /** the manifest's subject, for the OCI-Subject response header */
  subject?: string;
  /** tags set by `?tag=` on a push by digest, for the OCI-Tag response header */
  tags: string[];
}

/** dist-spec: registries that take `tag` parameters MUST accept at least 10 of them. */
export const MAX_PUSH_TAGS = 100;

export class ManifestService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      storage: StorageDriver;
      repositories: RepositoryResolver;
      clock: Clock;
      /** pulls are buffered, not written in the request */
      audit?: Pick<AuditService, 'pulled'>;
      /** the vulnerability policy (project prevent_vul) on GET and HEAD */
      gate?: PullGate;
      /** called in the push's transaction: jobs the push causes are enqueued in its commit */
      onPushed?: (tx: MetadataRepos, pushed: { projectId: number; manifestId: number; mediaType: string; artifactType: string | null; subjectDigest: string | null }) => Promise<void>;
    },
  ) {}

  /**
   * PUT: validates the manifest and its edges, stores it, and points the tag at it. `tags` are
   * the `?tag=` parameters of a push by digest (dist-spec "Pushing Manifests with tags").
   */
  async put(
    name: RepoName,
    referenceParam: string,
    body: Buffer,
    contentType: string | undefined,
    tags: readonly string[] = [],
    actor?: Actor,
  ): Promise<PutManifestResult> {
    const reference = parseReference(referenceParam);
    const extraTags = checkPushTags(reference, tags);
    const parsed = parseManifest(body, contentType);
    const algorithm = reference.kind === 'digest' ? reference.digest.algorithm : 'sha256';
    const digest = digestOf(body, algorithm);
    if (reference.kind === 'digest' && reference.digest.value !== digest.value) {
      throw digestInvalid(`the manifest's digest is ${digest.value}`, { expected: reference.digest.value, actual: digest.value });
    }
    const repo = await this.deps.repositories.forPush(name);
    const { metadata, storage, clock } = this.deps;
    // refuse a manifest with missing edges before any bytes are written; checked again below,
    // inside the transaction, against a concurrent delete
    await checkEdges(metadata, repo.id, parsed);

    // content addressing is the source of truth: the manifest's bytes go to storage first, so
    // a crash before the database commit leaves only an unreferenced blob. The database row is
    // what serves the manifest, so this copy skips the fsync: a process crash loses nothing,
    // and a copy lost to an OS crash can be written again from the row.
    if (!(await metadata.blobs.get(digest.value))) {
      await storage.putContent(blobPath(digest), body, undefined, { durable: false });
    }

    const now = clock.now();
    await metadata.transaction(async (tx) => {
      await checkEdges(tx, repo.id, parsed);
      const row = await tx.manifests.put({
        repositoryId: repo.id,
        digest: digest.value,
        mediaType: parsed.mediaType,
        artifactType: parsed.artifactType ?? null,
        size: body.length,
        subjectDigest: parsed.subject?.digest ?? null,
        annotations: parsed.annotations ?? null,
        content: body,
        blobDigests: parsed.blobs.map((b) => b.digest),
        childDigests: parsed.children.map((c) => c.digest),
        now,
      });
      // the manifest is also a blob of the repository (GET /v2/<name>/blobs/<manifest digest>)
      await tx.blobs.put(digest.value, body.length, now);
      await tx.blobs.link(repo.id, digest.value, now);
      if (reference.kind === 'tag') await tx.tags.put(repo.id, reference.tag, row.id, now);
      for (const tag of extraTags) await tx.tags.put(repo.id, tag, row.id, now);
      await tx.repositories.touch(repo.id, now);
      await this.deps.onPushed?.(tx, { projectId: repo.projectId, manifestId: row.id, mediaType: row.mediaType, artifactType: row.artifactType, subjectDigest: row.subjectDigest });
      // Harbor spells a push "create artifact"; the resource names the first tag, else the digest
      const tag = reference.kind === 'tag' ? reference.tag : extraTags[0];
      await tx.audit.append({
        ...actorFields(actor),
        operation: 'create',
        resourceType: 'artifact',
        resource: tag === undefined ? `${name.value}@${digest.value}` : `${name.value}:${tag}`,
        projectId: repo.projectId,
        result: 'success',
        detail: { digest: digest.value, media_type: parsed.mediaType, ...(extraTags.length ? { tags: extraTags } : {}) },
        at: now,
      });
    });
    return { digest: digest.value, ...(parsed.subject ? { subject: parsed.subject.digest } : {}), tags: extraTags };
  }

  async get(name: RepoName, referenceParam: string, accept: readonly string[], actor?: Actor): Promise<ManifestWithContent> {
    const reference = parseLookupReference(referenceParam);
    const repo = await this.deps.repositories.find(name);
    const m =
      reference.kind === 'tag'
        ? await this.deps.metadata.manifests.getByTag(repo.id, reference.tag)
        : await this.deps.metadata.manifests.get(repo.id, reference.digest.value);
    if (!m) throw manifestUnknown(referenceParam);
    const served = await this.negotiate(repo.id, m, reference, accept);
    await this.gate(name, repo, served, actor);
    this.deps.audit?.pulled(actor, reference.kind === 'tag' ? `${name.value}:${reference.tag}` : `${name.value}@${served.digest}`, repo.projectId);
    return served;
  }

  async head(name: RepoName, referenceParam: string, accept: readonly string[], actor?: Actor): Promise<ManifestRecord> {
    const reference = parseLookupReference(referenceParam);
    const repo = await this.deps.repositories.find(name);
    const m =
      reference.kind === 'tag'
        ? await this.deps.metadata.manifests.statByTag(repo.id, reference.tag)
        : await this.deps.metadata.manifests.stat(repo.id, reference.digest.value);
    if (!m) throw manifestUnknown(referenceParam);
    const served = acceptable(m.mediaType, accept) || reference.kind === 'digest' ? m : await this.negotiate(repo.id, { ...m, content: Buffer.alloc(0) }, reference, accept);
    await this.gate(name, repo, served, actor);
    return served;
  }

  /** Harbor's vulnerable middleware: a pull the project's policy refuses is a 412 PROJECTPOLICYVIOLATION. */
  private async gate(name: RepoName, repo: Repository, m: ManifestRecord, actor: Actor | undefined): Promise<void> {
    if (!this.deps.gate) return;
    await this.deps.gate.check({
      projectId: repo.projectId,
      projectName: name.project,
      repositoryId: repo.id,
      repositoryName: name.value,
      digest: m.digest,
      mediaType: m.mediaType,
      artifactType: m.artifactType,
      subjectDigest: m.subjectDigest,
      principal: actor?.principal,
    });
  }

  /** DELETE by digest removes the manifest and its tags; by tag removes only the tag. */
  async delete(name: RepoName, referenceParam: string, actor?: Actor): Promise<void> {
    const reference = parseLookupReference(referenceParam);
    const repo = await this.deps.repositories.find(name);
    const at = this.deps.clock.now();
    const record = { ...actorFields(actor), operation: 'delete', projectId: repo.projectId, result: 'success' as const, at };
    const deleted = await this.deps.metadata.transaction(async (tx) => {
      if (reference.kind === 'tag') {
        const gone = await tx.tags.delete(repo.id, reference.tag);
        if (gone) await tx.audit.append({ ...record, resourceType: 'tag', resource: `${name.value}:${reference.tag}` });
        return gone;
      }
      const gone = await tx.manifests.delete(repo.id, reference.digest.value);
      // the manifest was also linked as a blob of the repository when it was pushed
      if (gone) {
        await tx.blobs.unlink(repo.id, reference.digest.value);
        await tx.audit.append({ ...record, resourceType: 'artifact', resource: `${name.value}@${reference.digest.value}` });
      }
      return gone;
    });
    if (!deleted) throw manifestUnknown(referenceParam);
  }

  /** The referrers API: an image index of the manifests whose subject is `digest`. */
  async referrers(name: RepoName, digestParam: string, artifactType: string | undefined): Promise<Descriptor[]> {
    const digest = parseDigest(digestParam);
    // dist-spec: "the registry MUST NOT return a 404 Not Found to a referrers API request";
    // a repository nothing was pushed to yet has no referrers
    const repo = await this.deps.repositories.findOrUndefined(name);
    if (!repo) return [];
    return this.deps.metadata.manifests.referrers(repo.id, digest.value, artifactType);
  }

  /**
   * Content negotiation for tag pulls. A client that does not accept index types (an old Docker
   * client asking for schema 2 only) gets the linux/amd64 image of a list, as Distribution does;
   * pulls by digest always get exactly the bytes that were asked for.
   */
  private async negotiate<T extends ManifestRecord>(
    repositoryId: number,
    m: T & { content: Buffer },
    reference: Reference,
    accept: readonly string[],
  ): Promise<T & { content: Buffer }> {
    if (reference.kind === 'digest' || acceptable(m.mediaType, accept) || !isIndexMediaType(m.mediaType)) return m;
    const full = m.content.length ? m : await this.deps.metadata.manifests.get(repositoryId, m.digest);
    if (!full) return m;
    const index = JSON.parse(full.content.toString('utf8')) as { manifests?: Descriptor[] };
    const child = index.manifests?.find(
      (d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64' && acceptable(d.mediaType, accept),
    );
    if (!child) throw manifestUnknown(reference.kind === 'tag' ? reference.tag : m.digest);
    const resolved = await this.deps.metadata.manifests.get(repositoryId, child.digest);
    if (!resolved) throw manifestUnknown(child.digest);
    return resolved as unknown as T & { content: Buffer };
  }
}

/** No Accept header, or one that names the type or a wildcard. */
function acceptable(mediaType: string, accept: readonly string[]): boolean {
  if (accept.length === 0) return true;
  return accept.some((a) => {
    const t = essence(a);
    return t === undefined || t === mediaType || t === '*/*' || t === 'application/*' || t === 'application/json';
  });
}

/** `?tag=` is only meaningful on a push by digest; every value must be a valid tag. */
function checkPushTags(reference: Reference, tags: readonly string[]): string[] {
  if (tags.length === 0) return [];
  if (reference.kind === 'tag') throw manifestInvalid('tag query parameters are only valid when pushing a manifest by digest');
  if (tags.length > MAX_PUSH_TAGS) throw manifestInvalid(`at most ${MAX_PUSH_TAGS} tag parameters are accepted`);
  for (const t of tags) if (!isValidTag(t)) throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: t.slice(0, 200) });
  return [...new Set(tags)];
}

/**
 * The blobs and child manifests a manifest references must be in the repository. dist-spec:
 * "The registry MAY reject a manifest of any type uploaded to a manifest URL if it references
 * manifests and blobs that do not exist in the registry. When a manifest is rejected for these
 * reasons, it MUST result in one or more MANIFEST_BLOB_UNKNOWN errors." (`subject` is exempt.)
 */
async function checkEdges(repos: Pick<MetadataRepos, 'blobs' | 'manifests'>, repositoryId: number, parsed: ParsedManifest): Promise<void> {
  const missingBlobs = await repos.blobs.missingInRepository(
    repositoryId,
    parsed.blobs.map((b) => b.digest),
  );
  if (missingBlobs.length) throw manifestBlobUnknown(missingBlobs[0]!);
  const missingChildren = await repos.manifests.missingInRepository(
    repositoryId,
    parsed.children.map((c) => c.digest),
  );
  if (missingChildren.length) {
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest unknown to the repository', {
      digest: missingChildren[0],
    });
  }
}
