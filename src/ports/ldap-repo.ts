import type { User } from '../domain/records.js';

/** The directory identity of an onboarded LDAP user. */
export interface LdapIdentity {
  userId: number;
  /** the user's DN, normalised (lower case, no spaces around separators) */
  dn: string;
  /** sysadmin was granted by Harbor's ldap_group_admin_dn */
  adminByGroup: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface LdapRepo {
  findByDn(dn: string): Promise<{ user: User; identity: LdapIdentity } | undefined>;
  getByUserId(userId: number): Promise<LdapIdentity | undefined>;
  /**
   * Creates the user (auth_source ldap, external_id = the DN) with its identity. The password
   * hash is one nobody knows: a directory user's password is checked by the directory. Throws
   * CONFLICT when the username or the DN is taken.
   */
  onboard(u: {
    username: string;
    email: string;
    realname: string;
    dn: string;
    sysadmin: boolean;
    adminByGroup: boolean;
    passwordHash: string;
    now: number;
  }): Promise<User>;
  /** the profile and admin flag as the directory has them at this sign-in; the identity is created when absent */
  sync(userId: number, s: { email: string; realname: string; dn: string; sysadmin: boolean; adminByGroup: boolean; now: number }): Promise<void>;
}
