/**
 * An LDAP directory (OpenLDAP, Active Directory, …) as the LDAP use cases need it: bind with a
 * search account, find users and groups, check a user's password by binding as the user.
 * Filter values are escaped by the adapter (RFC 4515); the filters it is given are the
 * administrator's own (Harbor's ldap_filter, ldap_group_search_filter).
 */

/** Search scopes as Harbor numbers them (ldap_scope): 0 base, 1 one level, 2 subtree. */
export type DirectoryScope = 0 | 1 | 2;

export interface DirectoryConnection {
  /** ldap://host[:port] or ldaps://host[:port] */
  url: string;
  /** the search account; empty for an anonymous search */
  bindDn: string;
  bindPassword: string;
  /** for connecting and for each operation */
  timeoutSeconds: number;
  /** verify the server's TLS certificate (ldaps://) */
  verifyCert: boolean;
}

export interface DirectoryQuery {
  baseDn: string;
  scope: DirectoryScope;
  /** the administrator's filter, with or without its outer parentheses; may be empty */
  filter: string;
}

export interface DirectoryUserQuery extends DirectoryQuery {
  /** the attribute that holds the login name (Harbor's ldap_uid: uid, sAMAccountName, cn, …) */
  uidAttribute: string;
  /** the user attribute that lists the user's group DNs (Harbor's ldap_group_membership_attribute) */
  membershipAttribute: string;
}

export interface DirectoryGroupQuery extends DirectoryQuery {
  /** the attribute that names a group (Harbor's ldap_group_attribute_name, default cn) */
  nameAttribute: string;
}

export interface DirectoryUser {
  dn: string;
  /** the value of the uid attribute */
  uid: string;
  email: string;
  realname: string;
  /** the DNs of the membership attribute (memberOf), as the directory spells them */
  groupDns: string[];
}

export interface DirectoryGroup {
  dn: string;
  name: string;
}

/** How to find groups: by name, by DN (a base search), or those that list a user as a member. */
export type GroupLookup = { name: string } | { dn: string } | { memberDn: string; memberUid: string };

/** A connection bound with the search account. */
export interface DirectorySession {
  /** users matching the filter whose uid attribute equals `uid`, or every user when `uid` is undefined */
  findUsers(q: DirectoryUserQuery, uid: string | undefined, limit: number): Promise<DirectoryUser[]>;
  /** whether `dn` binds with `password`, on a connection of its own; false for an empty password */
  checkPassword(dn: string, password: string): Promise<boolean>;
  /** member lookups match member, uniqueMember (the DN) and memberUid (the uid) */
  findGroups(q: DirectoryGroupQuery, by: GroupLookup, limit: number): Promise<DirectoryGroup[]>;
  close(): Promise<void>;
}

export interface Directory {
  /** connects and binds with the search account; throws DirectoryError */
  open(c: DirectoryConnection): Promise<DirectorySession>;
}

export type DirectoryErrorKind = 'unreachable' | 'timeout' | 'tls' | 'credentials' | 'invalid' | 'failed';

/** A failure of the directory or of its settings; the message never holds a password. */
export class DirectoryError extends Error {
  constructor(
    readonly kind: DirectoryErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}
