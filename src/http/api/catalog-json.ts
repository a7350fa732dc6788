import type { Label, RepositoryInfo, TagRecord } from '../../ports/catalog-repos.js';
import type { ArtifactView, TagView } from '../../services/artifact-views.js';
import { scanOverviewJson } from './scan-json.js';

const iso = (ms: number) => new Date(ms).toISOString();
/** Harbor's zero time (Go's time.Time{}), for pulls that never happened */
const NEVER = '0001-01-01T00:00:00.000Z';

/** Harbor's Repository. */
export const repositoryJson = (r: RepositoryInfo) => ({
  id: r.id,
  project_id: r.projectId,
  name: r.name,
  description: r.description,
  artifact_count: r.artifactCount,
  pull_count: r.pullCount,
  creation_time: iso(r.createdAt),
  update_time: iso(r.updatedAt),
});

/** Harbor's Tag. Berth has no tag immutability rules yet: every tag is mutable. */
export const tagJson = (t: TagRecord | TagView) => ({
  id: t.id,
  repository_id: t.repositoryId,
  artifact_id: t.manifestId,
  name: t.name,
  push_time: iso(t.updatedAt),
  pull_time: NEVER,
  immutable: false,
  ...('signed' in t && t.signed !== undefined ? { signed: t.signed } : {}),
});

/** Harbor's Label. */
export const labelJson = (l: Label) => ({
  id: l.id,
  name: l.name,
  description: l.description,
  color: l.color,
  scope: l.scope,
  project_id: l.projectId,
  creation_time: iso(l.createdAt),
  update_time: iso(l.updatedAt),
  deleted: false,
});

/** Harbor's Artifact; what was not asked for (with_tag=false, …) is null, as Harbor sends it. */
export const artifactJson = (a: ArtifactView) => ({
  id: a.id,
  type: a.type,
  media_type: a.mediaType,
  manifest_media_type: a.manifestMediaType,
  project_id: a.projectId,
  repository_id: a.repositoryId,
  repository_name: a.repositoryName,
  digest: a.digest,
  size: a.size,
  icon: '',
  push_time: iso(a.pushedAt),
  pull_time: NEVER,
  extra_attrs: a.extraAttrs,
  annotations: a.annotations,
  references: a.references?.map((r) => ({
    parent_id: r.parentId,
    child_id: r.childId,
    child_digest: r.childDigest,
    ...(r.platform ? { platform: r.platform } : {}),
    ...(r.annotations ? { annotations: r.annotations } : {}),
    ...(r.urls ? { urls: r.urls } : {}),
  })) ?? null,
  tags: a.tags?.map(tagJson) ?? null,
  labels: a.labels?.map(labelJson) ?? null,
  accessories: a.accessories?.map(accessoryJson) ?? null,
  ...(a.scanOverview ? { scan_overview: scanOverviewJson(a.scanOverview) } : {}),
});

/** Harbor's Accessory. */
export function accessoryJson(x: NonNullable<ArtifactView['accessories']>[number]) {
  return {
    id: x.id,
    artifact_id: x.id,
    subject_artifact_id: x.subjectId,
    subject_artifact_digest: x.subjectDigest,
    subject_artifact_repo: x.repositoryName,
    size: x.size,
    digest: x.digest,
    type: x.type,
    icon: '',
    creation_time: new Date(x.createdAt).toISOString(),
  };
}
