import type { User } from '../domain/records.js';

/** The OIDC identity of an onboarded user (Harbor's oidc_user). */
export interface OidcIdentity {
  userId: number;
  /** `iss|sub` of the ID token */
  subiss: string;
  /** the CLI secret, sealed with Berth's secret key */
  secretSealed: string;
  /** sysadmin was granted by oidc_admin_group */
  adminByGroup: boolean;
  createdAt: number;
  updatedAt: number;
}

export type OidcPendingKind = 'state' | 'onboard';

export interface OidcRepo {
  findBySubiss(subiss: string): Promise<{ user: User; identity: OidcIdentity } | undefined>;
  getByUserId(userId: number): Promise<OidcIdentity | undefined>;
  /**
   * Creates the user (auth_source oidc, external_id = subiss, no password) with its identity and
   * CLI secret. Throws CONFLICT when the username or the subject is taken.
   */
  onboard(u: {
    username: string;
    email: string;
    realname: string;
    subiss: string;
    sysadmin: boolean;
    adminByGroup: boolean;
    cliSecretHash: string;
    secretSealed: string;
    now: number;
  }): Promise<User>;
  /** false when the user has no OIDC identity */
  setCliSecret(userId: number, cliSecretHash: string, secretSealed: string, now: number): Promise<boolean>;
  setAdmin(userId: number, sysadmin: boolean, adminByGroup: boolean, now: number): Promise<void>;
  /**
   * Stores a pending sign-in under the hash of its token; expired ones go, and of the rest only
   * the `keep` newest of the kind stay, so that the table stays bounded whatever the request rate.
   */
  putPending(p: { id: string; kind: OidcPendingKind; data: string; expiresAt: number; now: number; keep: number }): Promise<void>;
  /** deletes the pending entry and returns its data: each one is usable once */
  takePending(id: string, kind: OidcPendingKind, now: number): Promise<string | undefined>;
}
