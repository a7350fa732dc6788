import type { Generated } from 'kysely';

/** Row types. They never leave src/db: repositories map them to src/domain/records.ts. */
export interface DB {
  users: UsersTable;
  projects: ProjectsTable;
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  tags: TagsTable;
  uploads: UploadsTable;
  upload_chunks: UploadChunksTable;
  user_groups: UserGroupsTable;
  user_group_links: UserGroupLinksTable;
  project_members: ProjectMembersTable;
  project_metadata: ProjectMetadataTable;
  robots: RobotsTable;
  sessions: SessionsTable;
  configurations: ConfigurationsTable;
  labels: LabelsTable;
  artifact_labels: ArtifactLabelsTable;
  audit_logs: AuditLogsTable;
  artifact_blocks: ArtifactBlocksTable;
  oidc_users: OidcUsersTable;
  oidc_pending: OidcPendingTable;
  ldap_users: LdapUsersTable;
  scanner_registrations: ScannerRegistrationsTable;
  project_scanners: ProjectScannersTable;
  artifact_packages: ArtifactPackagesTable;
  artifact_findings: ArtifactFindingsTable;
  cve_exports: CveExportsTable;
  cve_allowlists: CveAllowlistsTable;
  jobs: JobsTable;
  layer_inventories: LayerInventoriesTable;
  artifact_inventories: ArtifactInventoriesTable;
  artifact_scans: ArtifactScansTable;
  scan_verdict_events: ScanVerdictEventsTable;
  scan_schedules: ScanSchedulesTable;
  scan_all_runs: ScanAllRunsTable;
  vulndb_state: VulndbStateTable;
  vulndb_batches: VulndbBatchesTable;
  vulndb_sources: VulndbSourcesTable;
  vulndb_advisories: VulndbAdvisoriesTable;
  vulndb_affected: VulndbAffectedTable;
  vulndb_kev: VulndbKevTable;
  vulndb_epss: VulndbEpssTable;
}

// Booleans are 0/1 integers and times are epoch milliseconds on both dialects, so that one
// repository implementation reads both the same way.
export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: number;
  created_at: number;
  updated_at: number;
  auth_source: Generated<string>;
  external_id: string | null;
  cli_secret_hash: string | null;
  password_version: Generated<number>;
}

export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  public: number;
  owner_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface RepositoriesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  created_at: number;
  updated_at: number;
  description: Generated<string>;
  pull_count: Generated<number>;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: number;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: number;
}

export interface ManifestsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  size: number;
  subject_digest: string | null;
  annotations: string | null;
  content: Buffer;
  created_at: number;
}

export interface ManifestBlobsTable {
  manifest_id: number;
  digest: string;
}

export interface ManifestChildrenTable {
  manifest_id: number;
  child_digest: string;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_id: number;
  created_at: number;
  updated_at: number;
}

export interface UploadChunksTable {
  upload_id: string;
  seq: number;
  data: Buffer;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  size: number;
  segments: string;
  created_at: number;
  updated_at: number;
  expires_at: number;
}

export interface UserGroupsTable {
  id: Generated<number>;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
  created_at: number;
  updated_at: number;
}

export interface UserGroupLinksTable {
  user_id: number;
  group_id: number;
}

export interface ProjectMembersTable {
  id: Generated<number>;
  project_id: number;
  entity_type: string;
  entity_id: number;
  role: number;
  created_at: number;
  updated_at: number;
}

export interface ProjectMetadataTable {
  project_id: number;
  name: string;
  value: string;
}

export interface RobotsTable {
  id: Generated<number>;
  name: string;
  description: string;
  secret_hash: string;
  level: string;
  project_id: number | null;
  duration_days: number;
  expires_at: number;
  disabled: number;
  creator: string;
  permissions: string;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  user_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export interface ConfigurationsTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface LabelsTable {
  id: Generated<number>;
  name: string;
  description: string;
  color: string;
  scope: string;
  project_id: number;
  created_at: number;
  updated_at: number;
}

export interface ArtifactLabelsTable {
  manifest_id: number;
  label_id: number;
  created_at: number;
}

export interface AuditLogsTable {
  id: Generated<number>;
  op_time: number;
  username: string;
  operation: string;
  resource_type: string;
  resource: string;
  project_id: number;
  source_ip: string;
  result: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface OidcUsersTable {
  user_id: number;
  subiss: string;
  secret_sealed: string;
  admin_by_group: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface OidcPendingTable {
  id: string;
  kind: string;
  data: string;
  expires_at: number;
}

export interface LdapUsersTable {
  user_id: number;
  dn: string;
  admin_by_group: Generated<number>;
  created_at: number;
  updated_at: number;
}

/** the package index behind inventory search (migration 011) */
export interface ArtifactPackagesTable {
  manifest_id: number;
  repository_id: number;
  project_id: number;
  type: string;
  namespace: string;
  name: string;
  version: string;
  purl: string;
  layer_digest: string;
  path: string;
}

/** one row per finding of an image's stored scan (migration 013) */
export interface ArtifactFindingsTable {
  manifest_id: number;
  repository_id: number;
  project_id: number;
  vuln_id: string;
  cve_id: string;
  package: string;
  version: string;
  fixed_version: Generated<string>;
  /** severityRank: 0 None … 5 Critical */
  severity: number;
  cvss_score: number | null;
  cvss_version: string | null;
  summary: Generated<string>;
  link: string | null;
}

/** requested CVE exports (migration 014) */
export interface CveExportsTable {
  id: Generated<number>;
  requester: string;
  user_id: number | null;
  username: string;
  job_name: string;
  params: string;
  job_id: number | null;
  status: string;
  status_text: Generated<string>;
  file_path: string | null;
  file_size: number | null;
  rows: number | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
}

/** listed artifacts per block of 1024 manifest ids (migration 006) */
export interface ArtifactBlocksTable {
  repository_id: number;
  block: number;
  n: number;
}

// vulnerability database (migration 007); JSON columns are text on both dialects
export interface VulndbStateTable {
  id: number;
  generation: number;
}

export interface VulndbBatchesTable {
  id: Generated<number>;
  source: string;
  created_at: number;
}

export interface VulndbSourcesTable {
  name: string;
  kind: string;
  batch: number | null;
  records: Generated<number>;
  skipped: Generated<number>;
  updated_at: number | null;
  checked_at: number | null;
  url: string | null;
  etag: string | null;
  last_modified: string | null;
  last_error: string | null;
}

export interface VulndbAdvisoriesTable {
  batch: number;
  id: string;
  aliases: string;
  summary: string;
  details: string;
  modified: string | null;
  published: string | null;
  withdrawn: string | null;
  severity: string;
  cvss_version: string | null;
  cvss_vector: string | null;
  cvss_score: number | null;
  refs: string;
}

export interface VulndbAffectedTable {
  batch: number;
  advisory_id: string;
  ecosystem: string;
  name: string;
  data: string;
}

export interface VulndbKevTable {
  batch: number;
  cve: string;
}

export interface VulndbEpssTable {
  batch: number;
  cve: string;
  score: number;
  percentile: number;
}

/** the job queue (migration 008) */
export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  dedupe_key: string | null;
  state: string;
  attempts: Generated<number>;
  max_attempts: number;
  run_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  batch_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface LayerInventoriesTable {
  layer_digest: string;
  analyzer_version: string;
  inventory: string;
  package_count: number;
  created_at: number;
}

export interface ArtifactInventoriesTable {
  manifest_id: number;
  analyzer_version: string;
  inventory: string;
  image: string;
  created_at: number;
}

export interface ArtifactScansTable {
  manifest_id: number;
  status: string;
  report_id: string;
  scanner: Generated<string>;
  job_id: number | null;
  generation: number | null;
  findings: string | null;
  highest: string | null;
  total: Generated<number>;
  fixable: Generated<number>;
  summary: string | null;
  error: string | null;
  started_at: number | null;
  ended_at: number | null;
  updated_at: number;
}

export interface ScanVerdictEventsTable {
  id: Generated<number>;
  manifest_id: number;
  repository_id: number;
  digest: string;
  previous_highest: string;
  highest: string;
  previous_summary: string;
  summary: string;
  generation: number;
  at: number;
}

export interface ScanSchedulesTable {
  name: string;
  type: string;
  cron: string;
  next_run_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface ScanAllRunsTable {
  id: Generated<number>;
  trigger: string;
  status: string;
  total: Generated<number>;
  started_at: number;
  ended_at: number | null;
}

// CVE allowlists (migration 009): scope `system` or `project:<id>`; items a JSON array of ids
export interface CveAllowlistsTable {
  id: Generated<number>;
  scope: string;
  project_id: number | null;
  expires_at: number | null;
  items: string;
  created_at: number;
  updated_at: number;
}

/** Harbor's scanner registrations (migration 010) */
export interface ScannerRegistrationsTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  description: string;
  url: string;
  auth: string;
  credential_sealed: string;
  disabled: number;
  is_default: number;
  skip_cert_verify: number;
  use_internal_addr: number;
  builtin: number;
  created_at: number;
  updated_at: number;
}

/** the scanner a project chose (migration 010) */
export interface ProjectScannersTable {
  project_id: number;
  registration_id: number;
  updated_at: number;
}
