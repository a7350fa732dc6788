import type { TypeSelector } from '../domain/artifact.js';
import type { ManifestRecord, ManifestWithContent } from '../domain/records.js';
import type { Page } from './page.js';

/** A name condition: one of several exact names, or a case-insensitive substring. */
export type NameMatch = { exact: readonly string[] } | { fuzzy: string };

export interface SortBy<K extends string> {
  key: K;
  desc: boolean;
}

/** A repository as Harbor's API shows it. */
export interface RepositoryInfo {
  id: number;
  projectId: number;
  projectName: string;
  projectPublic: boolean;
  /** the full name, `project/repo` */
  name: string;
  description: string;
  /** listed (root) artifacts, as Harbor counts them */
  artifactCount: number;
  pullCount: number;
  createdAt: number;
  updatedAt: number;
}

export interface RepositoryFilter {
  /** any of these projects */
  projectIds?: readonly number[];
  name?: NameMatch;
  /** only repositories of public projects and of these (a viewer who is not a system admin) */
  visibleTo?: { projectIds: readonly number[] };
}

export type RepositorySortKey = 'name' | 'creation_time' | 'update_time' | 'pull_count' | 'id';

/** What a viewer may count: everything (system admins) or public projects and their own. */
export type StatisticsScope = { all: true } | { all: false; memberProjectIds: readonly number[] };

export interface Statistics {
  publicProjects: number;
  privateProjects: number;
  publicRepositories: number;
  privateRepositories: number;
  /** bytes of every stored blob; only for `all` */
  storageBytes: number;
}

export interface CatalogRepo {
  listRepositories(filter: RepositoryFilter, sort: readonly SortBy<RepositorySortKey>[], page: { offset: number; limit: number }): Promise<Page<RepositoryInfo>>;
  getRepository(name: string): Promise<RepositoryInfo | undefined>;
  setDescription(id: number, description: string, now: number): Promise<void>;
  /**
   * Deletes the repository with its manifests, tags, label links and blob links. The blobs
   * themselves stay: garbage collection decides about them.
   */
  deleteRepository(id: number): Promise<{ manifests: number }>;
  statistics(scope: StatisticsScope): Promise<Statistics>;
}

export interface ArtifactFilter {
  /** Harbor's base=*: children of indexes and accessories too, not only listed artifacts */
  all?: boolean;
  digests?: readonly string[];
  /** Harbor's media_type: the artifactType (config media type), the manifest's for an index */
  mediaTypes?: readonly string[];
  /** any of these types */
  types?: readonly TypeSelector[];
  tags?: { any: true } | { none: true } | { exact: readonly string[] } | { fuzzy: string };
  /** attached to every one of these labels */
  labelsAll?: readonly number[];
  /** attached to at least one of these labels */
  labelsAny?: readonly number[];
  pushedFrom?: number;
  pushedTo?: number;
}

export type ArtifactSortKey = 'id' | 'digest';

export interface TagRecord {
  id: number;
  repositoryId: number;
  manifestId: number;
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** Where position `offset` of a repository's listed artifacts is, in push order. */
export interface SeekPlan {
  total: number;
  /** the first id (ascending) or the id bound (descending) of the block that holds the position */
  fromId?: number;
  /** rows of that block to step over: fewer than the block size (1024) */
  skip: number;
}

export interface ArtifactRepo {
  /**
   * A page of artifacts. Unfiltered lists in push order seek through the block counts (see
   * `seekPlan`); any other list is an index scan with an offset.
   */
  list(repositoryId: number, filter: ArtifactFilter, order: SortBy<ArtifactSortKey>, page: { offset: number; limit: number }): Promise<Page<ManifestWithContent>>;
  seekPlan(repositoryId: number, offset: number, desc: boolean): Promise<SeekPlan>;
  /** listed artifacts per repository */
  countListed(repositoryIds: readonly number[]): Promise<Map<number, number>>;
  /** the summed size of the blobs each manifest references */
  blobBytes(manifestIds: readonly number[]): Promise<Map<number, number>>;
  tagsOf(manifestIds: readonly number[]): Promise<Map<number, TagRecord[]>>;
  listTags(manifestId: number, filter: { name?: NameMatch }, order: SortBy<'name' | 'push_time' | 'id'>, page: { offset: number; limit: number }): Promise<Page<TagRecord>>;
  /** throws CONFLICT when the repository has the tag already */
  createTag(repositoryId: number, manifestId: number, name: string, now: number): Promise<TagRecord>;
  /** ids of the repository's manifests with these digests */
  manifestIds(repositoryId: number, digests: readonly string[]): Promise<Map<string, number>>;
  /** ids of the indexes of the repository that reference the digest */
  parentsOf(repositoryId: number, digest: string): Promise<number[]>;
  /** manifests of the repository whose subject is one of the digests */
  accessoriesOf(repositoryId: number, subjectDigests: readonly string[]): Promise<ManifestRecord[]>;
}

/** Harbor's label: global (scope g, project 0) or of one project (scope p). */
export interface Label {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: 'g' | 'p';
  projectId: number;
  createdAt: number;
  updatedAt: number;
}

export interface LabelFilter {
  scope: 'g' | 'p';
  projectId?: number;
  name?: NameMatch;
}

export interface LabelRepo {
  /** throws CONFLICT when the scope (or project) has a label of that name */
  create(l: { name: string; description: string; color: string; scope: 'g' | 'p'; projectId: number; now: number }): Promise<Label>;
  get(id: number): Promise<Label | undefined>;
  list(filter: LabelFilter, page: { offset: number; limit: number }): Promise<Page<Label>>;
  /** throws CONFLICT on a name taken; undefined when there is no such label */
  update(id: number, patch: { name?: string; description?: string; color?: string; now: number }): Promise<Label | undefined>;
  /** deletes the label and its attachments */
  delete(id: number): Promise<boolean>;
  /** false when the label was attached already */
  attach(manifestId: number, labelId: number, now: number): Promise<boolean>;
  detach(manifestId: number, labelId: number): Promise<boolean>;
  labelsOf(manifestIds: readonly number[]): Promise<Map<number, Label[]>>;
}
