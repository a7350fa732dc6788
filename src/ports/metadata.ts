import type { CveExportRepo } from './cve-export-repo.js';
import type { FindingIndexRepo } from './finding-index.js';
import type {
  BlobRecord,
  ManifestRecord,
  ManifestWithContent,
  Project,
  Repository,
  UploadSegment,
  UploadSession,
  User,
} from '../domain/records.js';
import type { Descriptor } from '../domain/manifest.js';
import type { AuditRepo } from './audit-repo.js';
import type { ArtifactRepo, CatalogRepo, LabelRepo } from './catalog-repos.js';
import type { SessionRepo } from './session-repo.js';
import type { ConfigRepo, GroupRepo, MemberRepo, RobotRepo } from './identity-repos.js';
import type { OidcRepo } from './oidc-repo.js';
import type { LdapRepo } from './ldap-repo.js';
import type { Page } from './page.js';
import type { ScannerRegistryRepo } from './scanner-registry-repo.js';
import type { PackageIndexRepo } from './package-index.js';
import type { CveAllowlistRepo } from './cve-allowlist-repo.js';
import type { JobRepo } from './job-queue.js';
import type { ScanRepo } from './scan-repo.js';
import type { VulndbRepo } from './vulndb-repo.js';

/**
 * The metadata port: one interface per table group, and a unit of work that runs a function
 * against all of them in one transaction. Implemented once over Kysely for SQLite and PostgreSQL
 * (src/db) and checked by test/suites/metadata.suite.ts on both.
 */
export interface Metadata extends MetadataRepos {
  transaction<T>(fn: (tx: MetadataRepos) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** a trivial round trip, for health checks */
  ping(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
}

export interface MetadataRepos {
  audit: AuditRepo;
  sessions: SessionRepo;
  members: MemberRepo;
  groups: GroupRepo;
  robots: RobotRepo;
  config: ConfigRepo;
  oidc: OidcRepo;
  ldap: LdapRepo;
  projects: ProjectRepo;
  users: UserRepo;
  repositories: RepositoryRepo;
  blobs: BlobRepo;
  manifests: ManifestRepo;
  tags: TagRepo;
  uploads: UploadRepo;
  catalog: CatalogRepo;
  artifacts: ArtifactRepo;
  labels: LabelRepo;
  scanners: ScannerRegistryRepo;
  /** inventory search; the scan service writes it with each stored inventory */
  packageIndex: PackageIndexRepo;
  /** the security hub; the scan service writes it with each stored report */
  findingIndex: FindingIndexRepo;
  cveExports: CveExportRepo;
  cveAllowlists: CveAllowlistRepo;
  jobs: JobRepo;
  scans: ScanRepo;
  vulndb: VulndbRepo;
}

export type { Page };

export interface ProjectFilter {
  name?: string;
  /** substring match on the name */
  nameLike?: string;
  public?: boolean;
  /** only projects that are public or whose id is in this list (for non-admin listings) */
  visibleTo?: { projectIds: number[] };
}

export interface ProjectRepo {
  /** throws CONFLICT when the name is taken */
  create(p: { name: string; public: boolean; ownerId: number | null; now: number }): Promise<Project>;
  getByName(name: string): Promise<Project | undefined>;
  getById(id: number): Promise<Project | undefined>;
  list(filter: ProjectFilter, page: { offset: number; limit: number }): Promise<Page<Project>>;
  update(id: number, patch: { public?: boolean; now: number }): Promise<void>;
  /** deletes the project; false when it still holds repositories (nothing is deleted then) */
  deleteIfEmpty(id: number): Promise<boolean>;
  repositoryCount(id: number): Promise<number>;
  /** Harbor's project metadata (prevent_vul, severity, auto_scan, reuse_sys_cve_allowlist…): name -> string value */
  metadataOf(id: number): Promise<Record<string, string>>;
  /** sets the given entries (others stay) */
  setMetadata(id: number, entries: Readonly<Record<string, string>>): Promise<void>;
  /** removes one entry; false when it was not there */
  deleteMetadata(id: number, name: string): Promise<boolean>;
}

export interface UserRepo {
  /** throws CONFLICT when the username is taken */
  create(u: {
    username: string;
    passwordHash: string;
    email?: string;
    realname?: string;
    comment?: string;
    sysadmin: boolean;
    now: number;
  }): Promise<User>;
  getByUsername(username: string): Promise<User | undefined>;
  /** the CLI secret hash of an OIDC user */
  cliSecretHash(userId: number): Promise<string | null>;
  /** the user and its password hash in one lookup (Basic authentication) */
  getWithPasswordHash(username: string): Promise<{ user: User; passwordHash: string } | undefined>;
  getById(id: number): Promise<User | undefined>;
  passwordHash(userId: number): Promise<string | undefined>;
  setPassword(userId: number, passwordHash: string, now: number): Promise<void>;
  list(filter: UserFilter, page: { offset: number; limit: number; sort?: UserSort }): Promise<Page<User>>;
  /** false when the user does not exist */
  update(id: number, patch: { email?: string; realname?: string; comment?: string; now: number }): Promise<boolean>;
  setSysadmin(id: number, sysadmin: boolean, now: number): Promise<boolean>;
  /** deletes the user and its project memberships (sessions and group links cascade) */
  delete(id: number): Promise<boolean>;
  count(filter: { sysadmin?: boolean }): Promise<number>;
  /** whether another user (not `exceptId`) has this email address */
  emailTaken(email: string, exceptId?: number): Promise<boolean>;
  /**
   * Locks the sysadmin rows until the transaction ends and returns their ids, so that two
   * concurrent demotions cannot both leave "another" admin (the last-admin rule).
   */
  lockSysadmins(): Promise<number[]>;
}

export interface UserFilter {
  username?: string;
  /** case-insensitive substring of the username */
  usernameLike?: string;
  email?: string;
  emailLike?: string;
}

export interface UserSort {
  by: 'username' | 'createdAt' | 'updatedAt' | 'id';
  desc: boolean;
}

export interface RepositoryRepo {
  getByName(name: string): Promise<Repository | undefined>;
  /** the repository, created in `projectId` when absent */
  ensure(projectId: number, name: string, now: number): Promise<Repository>;
  /** catalog order: byte order of names, after `last` */
  listNames(opts: { last?: string; limit: number }): Promise<string[]>;
  touch(id: number, now: number): Promise<void>;
}

export interface BlobRepo {
  /** records a verified blob; a second record of the same digest is a no-op */
  put(digest: string, size: number, now: number): Promise<void>;
  get(digest: string): Promise<BlobRecord | undefined>;
  /** the blob when it is linked into the repository */
  getInRepository(repositoryId: number, digest: string): Promise<BlobRecord | undefined>;
  link(repositoryId: number, digest: string, now: number): Promise<void>;
  /** false when the blob was not linked */
  unlink(repositoryId: number, digest: string): Promise<boolean>;
  /** digests among `digests` NOT linked into the repository */
  missingInRepository(repositoryId: number, digests: readonly string[]): Promise<string[]>;
  /** names of repositories the blob is linked into, for mounts without `from` */
  repositoriesHolding(digest: string, limit: number): Promise<string[]>;
}

export interface NewManifest {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
  content: Uint8Array;
  /** blob digests the manifest references (config, layers) */
  blobDigests: readonly string[];
  /** manifest digests an index references */
  childDigests: readonly string[];
  now: number;
}

export interface ManifestRepo {
  /** stores the manifest unless the repository already holds that digest; returns its row */
  put(m: NewManifest): Promise<ManifestRecord>;
  get(repositoryId: number, digest: string): Promise<ManifestWithContent | undefined>;
  stat(repositoryId: number, digest: string): Promise<ManifestRecord | undefined>;
  getByTag(repositoryId: number, tag: string): Promise<ManifestWithContent | undefined>;
  statByTag(repositoryId: number, tag: string): Promise<ManifestRecord | undefined>;
  /** digests among `digests` that are NOT manifests of the repository */
  missingInRepository(repositoryId: number, digests: readonly string[]): Promise<string[]>;
  /** deletes the manifest and the tags that point at it; false when absent */
  delete(repositoryId: number, digest: string): Promise<boolean>;
  referrers(repositoryId: number, subjectDigest: string, artifactType?: string): Promise<Descriptor[]>;
}

export interface TagRepo {
  /** points the tag at the manifest, creating or moving it */
  put(repositoryId: number, tag: string, manifestId: number, now: number): Promise<void>;
  delete(repositoryId: number, tag: string): Promise<boolean>;
  /** tags in byte order after `last` */
  list(repositoryId: number, opts: { last?: string; limit: number }): Promise<string[]>;
}

export interface UploadRepo {
  create(u: { id: string; repositoryId: number; now: number; expiresAt: number }): Promise<UploadSession>;
  get(id: string): Promise<UploadSession | undefined>;
  /**
   * Appends a segment when the session still has `expectedSize` bytes (optimistic concurrency);
   * false when another request changed it first.
   */
  append(id: string, expectedSize: number, segment: UploadSegment, now: number, expiresAt: number): Promise<boolean>;
  /**
   * Like `append`, for an inline segment whose bytes are kept with the session. Run it in a
   * transaction: the segment and its bytes are recorded together or not at all.
   */
  appendInline(id: string, expectedSize: number, data: Uint8Array, now: number, expiresAt: number): Promise<boolean>;
  /** the bytes of the session's inline segments, by segment index */
  inlineData(id: string): Promise<Map<number, Buffer>>;
  /** deletes the session and its inline bytes */
  delete(id: string): Promise<boolean>;
  listExpired(now: number, limit: number): Promise<UploadSession[]>;
}
