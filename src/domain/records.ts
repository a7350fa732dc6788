/** The stored things, as the services see them. Times are epoch milliseconds. */

export interface Project {
  id: number;
  name: string;
  public: boolean;
  ownerId: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface User {
  id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin: boolean;
  createdAt: number;
  updatedAt: number;
  /** db (local password), ldap or oidc */
  authSource: 'db' | 'ldap' | 'oidc';
  /** the LDAP DN or OIDC subject of an external user */
  externalId: string | null;
}

export interface Repository {
  id: number;
  projectId: number;
  name: string;
  createdAt: number;
  updatedAt: number;
}

export interface BlobRecord {
  digest: string;
  size: number;
  createdAt: number;
}

export interface ManifestRecord {
  id: number;
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface ManifestWithContent extends ManifestRecord {
  content: Buffer;
}

export interface UploadSegment {
  /** storage path of this segment's bytes; empty for an inline segment */
  path: string;
  size: number;
  /** the bytes are in the database (a small chunk), not in storage */
  inline?: boolean;
}

export interface UploadSession {
  id: string;
  repositoryId: number;
  size: number;
  segments: UploadSegment[];
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}
