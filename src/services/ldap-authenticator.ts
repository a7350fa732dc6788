import { randomBytes } from 'node:crypto';
import { conflict, isRegistryError } from '../domain/errors.js';
import type { User } from '../domain/records.js';
import type { Clock } from '../ports/clock.js';
import { type Directory, DirectoryError, type DirectorySession, type DirectoryUser } from '../ports/directory.js';
import { GROUP_TYPES } from '../ports/identity-repos.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { ExternalAuthenticator } from './access.service.js';
import { type Actor, actorFields } from './audit.service.js';
import { isWithin, type LdapSettings, type LdapSettingsCache, normalizeDn } from './ldap-settings.js';

/** Where directory failures are reported (a pino logger fits); never with a password. */
export interface DirectoryLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface LdapDeps {
  metadata: Metadata;
  directory: Directory;
  hasher: PasswordHasher;
  clock: Clock;
  settings: LdapSettingsCache;
  log?: DirectoryLog;
  /** a user's rights changed (admin by group): cached decisions about the user must go */
  onUserChanged?: (userId: number) => void;
}

/** The user's groups as the directory has them at this sign-in. */
export interface ResolvedGroups {
  /** member of ldap_group_admin_dn */
  admin: boolean;
  /** normalised DNs, with the name a new Berth group gets */
  groups: { dn: string; name: string }[];
}

const MAX_GROUPS = 1000;

/**
 * Harbor's LDAP authentication: bind with the search account, find exactly one user with the
 * filter and the uid attribute, bind as that user with the password, then onboard the user
 * (created at the first sign-in, profile and admin flag refreshed at each) and map the
 * directory groups to Berth's LDAP groups (type 1), whose project memberships then apply.
 */
export class LdapAuthenticator implements ExternalAuthenticator {
  readonly name = 'ldap';
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: LdapDeps) {}

  async authenticate(username: string, password: string): Promise<{ user: User; groupIds: number[] } | undefined> {
    const s = await this.deps.settings.get();
    if (!s.enabled || s.connection.url === '') {
      // not in ldap_auth mode: answer as slowly as a wrong local password would
      await this.deps.hasher.verify(await this.dummy(), password);
      return undefined;
    }
    if (!plausibleUsername(username) || password === '') return undefined;
    let session: DirectorySession | undefined;
    try {
      session = await this.deps.directory.open(s.connection);
      const found = await session.findUsers(s.users, username, 2);
      if (found.length !== 1) {
        if (found.length > 1) this.deps.log?.warn({ username: username.slice(0, 100) }, 'LDAP: more than one entry matches the username; refused');
        return undefined;
      }
      const entry = found[0]!;
      if (!(await session.checkPassword(entry.dn, password))) return undefined;
      const groups = await this.resolveGroups(session, s, entry);
      return await this.onboard(entry, { groups });
    } catch (e) {
      if (e instanceof DirectoryError) {
        this.deps.log?.warn({ kind: e.kind, reason: e.message, username: username.slice(0, 100) }, 'LDAP authentication failed');
        return undefined;
      }
      if (isRegistryError(e) && e.code === 'CONFLICT') {
        this.deps.log?.warn({ username: username.slice(0, 100), reason: e.message }, 'LDAP user cannot be onboarded');
        return undefined;
      }
      throw e;
    } finally {
      await session?.close();
    }
  }

  /**
   * Groups of the user: the DNs of its membership attribute (memberOf), and, when a group base
   * DN is set, the groups below it that list the user as member, uniqueMember or memberUid.
   * Only groups below the group base DN become Berth groups; the admin group counts wherever it is.
   */
  async resolveGroups(session: DirectorySession, s: LdapSettings, entry: DirectoryUser): Promise<ResolvedGroups> {
    const found = new Map<string, { dn: string; name?: string }>();
    for (const dn of entry.groupDns) found.set(normalizeDn(dn), { dn });
    if (s.groups.baseDn !== '') {
      for (const g of await session.findGroups(s.groups, { memberDn: entry.dn, memberUid: entry.uid }, MAX_GROUPS)) found.set(normalizeDn(g.dn), g);
    }
    const adminDn = normalizeDn(s.groups.adminDn);
    const base = normalizeDn(s.groups.baseDn);
    const groups: ResolvedGroups['groups'] = [];
    for (const [dn, g] of found) {
      if (!isWithin(dn, base) || groups.length >= MAX_GROUPS) continue;
      let name = g.name;
      if (name === undefined && !(await this.groupExists(dn))) {
        // a DN from memberOf only: the group's own entry names it
        name = (await session.findGroups(s.groups, { dn: g.dn }, 1))[0]?.name;
      }
      groups.push({ dn, name: name ?? rdnValue(g.dn) });
    }
    return { admin: adminDn !== '' && found.has(adminDn), groups };
  }

  /**
   * Creates or refreshes the user of a directory entry in one transaction with its audit record.
   * With `groups` (a sign-in), the admin flag follows ldap_group_admin_dn and the memberships
   * are replaced; without (an import), the user starts with no rights.
   */
  async onboard(entry: DirectoryUser, opts: { groups?: ResolvedGroups; actor?: Actor }): Promise<{ user: User; groupIds: number[] }> {
    const dn = normalizeDn(entry.dn);
    const known = (await this.deps.metadata.ldap.findByDn(dn)) ?? (await this.deps.metadata.users.getByUsername(entry.uid));
    // the schema wants a password hash: one of a random secret that is thrown away
    const unusable = known ? undefined : await this.deps.hasher.hash(randomBytes(32).toString('base64url'));
    let result: { user: User; groupIds: number[]; rightsChanged: boolean };
    try {
      result = await this.deps.metadata.transaction((tx) => this.write(tx, entry, dn, unusable, opts));
    } catch (e) {
      // another sign-in of the same user onboarded it at the same moment: take that one
      if (!(isRegistryError(e) && e.code === 'CONFLICT' && known === undefined)) throw e;
      result = await this.deps.metadata.transaction((tx) => this.write(tx, entry, dn, unusable, opts));
    }
    if (result.rightsChanged) this.deps.onUserChanged?.(result.user.id);
    return { user: result.user, groupIds: result.groupIds };
  }

  private async write(
    tx: MetadataRepos,
    entry: DirectoryUser,
    dn: string,
    unusable: string | undefined,
    opts: { groups?: ResolvedGroups; actor?: Actor },
  ): Promise<{ user: User; groupIds: number[]; rightsChanged: boolean }> {
    const now = this.deps.clock.now();
    const username = entry.uid;
    const email = entry.email.slice(0, 255);
    const realname = entry.realname.slice(0, 255);
    const operator = opts.actor ? actorFields(opts.actor) : { operator: username };
    let found = await tx.ldap.findByDn(dn);
    if (!found) {
      const byName = await tx.users.getByUsername(username);
      if (byName && byName.authSource !== 'ldap') throw conflict(`user ${username} exists and is not a directory user`);
      if (byName) found = { user: byName, identity: (await tx.ldap.getByUserId(byName.id)) ?? { userId: byName.id, dn: '', adminByGroup: false, createdAt: now, updatedAt: now } };
    }
    const admin = opts.groups?.admin;
    let user: User;
    let rightsChanged = false;
    if (!found) {
      const sysadmin = admin === true;
      const passwordHash = unusable ?? (await this.deps.hasher.hash(randomBytes(32).toString('base64url')));
      user = await tx.ldap.onboard({ username, email, realname, dn, sysadmin, adminByGroup: sysadmin, passwordHash, now });
      await tx.audit.append({ ...operator, operation: 'create', resourceType: 'user', resource: username, result: 'success', detail: { auth_source: 'ldap', dn, sysadmin }, at: now });
    } else {
      const { user: before, identity } = found;
      let sysadmin = before.sysadmin;
      let adminByGroup = identity.adminByGroup;
      // Harbor's "LDAP group admin": the group grants sysadmin and leaving it takes back what it
      // granted; a flag an administrator set by hand is left alone
      if (admin === true && !sysadmin) [sysadmin, adminByGroup] = [true, true];
      else if (admin === false && adminByGroup) [sysadmin, adminByGroup] = [false, false];
      const changes: Record<string, unknown> = {};
      if (before.email !== email) changes['email'] = email;
      if (before.realname !== realname) changes['realname'] = realname;
      if (before.externalId !== dn) changes['dn'] = dn;
      if (before.sysadmin !== sysadmin) changes['sysadmin'] = sysadmin;
      if (Object.keys(changes).length || identity.dn !== dn || identity.adminByGroup !== adminByGroup) {
        await tx.ldap.sync(before.id, { email, realname, dn, sysadmin, adminByGroup, now });
      }
      if (Object.keys(changes).length) {
        await tx.audit.append({ ...operator, operation: 'update', resourceType: 'user', resource: before.username, result: 'success', detail: { auth_source: 'ldap', ...changes }, at: now });
      }
      rightsChanged = before.sysadmin !== sysadmin;
      user = { ...before, email, realname, externalId: dn, sysadmin, updatedAt: now };
    }
    if (!opts.groups) return { user, groupIds: await tx.groups.groupIdsOf(user.id), rightsChanged };
    const groupIds: number[] = [];
    for (const g of opts.groups.groups) {
      const existing = (await tx.groups.list({ type: GROUP_TYPES.ldap, ldapGroupDn: g.dn }, { offset: 0, limit: 1 })).items[0];
      groupIds.push((existing ?? (await tx.groups.ensure({ name: g.name, type: GROUP_TYPES.ldap, ldapGroupDn: g.dn, now }))).id);
    }
    const previous = await tx.groups.groupIdsOf(user.id);
    if (!sameSet(previous, groupIds)) {
      await tx.groups.setMemberships(user.id, groupIds);
      rightsChanged = true;
    }
    return { user, groupIds, rightsChanged };
  }

  private async groupExists(dn: string): Promise<boolean> {
    return (await this.deps.metadata.groups.list({ type: GROUP_TYPES.ldap, ldapGroupDn: dn }, { offset: 0, limit: 1 })).total > 0;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash(randomBytes(16).toString('base64url'));
    return this.dummyHash;
  }
}

/** A directory login name: 1-255 characters without control characters, never a robot's name. */
export function plausibleUsername(u: string): boolean {
  if (u.length === 0 || u.length > 255 || u.startsWith('robot$') || u.trim() !== u) return false;
  for (const c of u) {
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

/** `cn=developers,ou=groups,…` → `developers`. */
function rdnValue(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(dn);
  return (m?.[1] ?? dn).replace(/\\(.)/g, '$1').trim();
}
