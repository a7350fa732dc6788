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
