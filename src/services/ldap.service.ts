import { badRequest, isRegistryError, RegistryError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import {
  type Directory,
  type DirectoryConnection,
  DirectoryError,
  type DirectoryGroup,
  type DirectorySession,
  type DirectoryUserQuery,
} from '../ports/directory.js';
import type { Metadata } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { Actor } from './audit.service.js';
import { type DirectoryLog, LdapAuthenticator, plausibleUsername } from './ldap-authenticator.js';
import { type LdapSettings, LdapSettingsCache, type LdapSettingsSource, ldapSettings, normalizeDn } from './ldap-settings.js';

/** Harbor's LdapConf: the settings a ping may try before they are saved. */
export interface LdapConfInput {
  ldap_url?: string;
  ldap_search_dn?: string;
  ldap_search_password?: string;
  ldap_base_dn?: string;
  ldap_filter?: string;
  ldap_uid?: string;
  ldap_scope?: number;
  ldap_connection_timeout?: number;
  ldap_verify_cert?: boolean;
}

export interface LdapUserView {
  username: string;
  realname: string;
  email: string;
}

export interface LdapFailedImport {
  uid: string;
  error: string;
}

const SEARCH_LIMIT = 1000;
const IMPORT_MAX = 1000;

/**
 * Harbor's LDAP use cases: ping, user search and import, group search; and the authenticator
 * that the access service consults for directory users. Settings are Harbor's ldap_* keys,
 * read through the configuration service and kept for a few seconds.
 */
export class LdapService {
  readonly authenticator: LdapAuthenticator;
  private readonly settings: LdapSettingsCache;

  constructor(
    private readonly deps: {
      metadata: Metadata;
      directory: Directory;
      hasher: PasswordHasher;
      clock: Clock;
      config: LdapSettingsSource;
      log?: DirectoryLog;
      /** after a settings change on this instance: cached directory sign-ins must go */
      onSettingsChanged?: () => void;
      onUserChanged?: (userId: number) => void;
    },
  ) {
    this.settings = new LdapSettingsCache(deps.config, deps.clock);
    this.authenticator = new LdapAuthenticator({
      metadata: deps.metadata,
      directory: deps.directory,
      hasher: deps.hasher,
      clock: deps.clock,
      settings: this.settings,
      ...(deps.log ? { log: deps.log } : {}),
      ...(deps.onUserChanged ? { onUserChanged: deps.onUserChanged } : {}),
    });
  }

  /** auth_mode or an ldap_* setting changed on this instance: take the new settings at once. */
  configurationChanged(): void {
    this.settings.forget();
    this.deps.onSettingsChanged?.();
  }

  /**
   * POST /ldap/ping: binds with the search account of `input` over the saved settings and, with
   * a base DN, searches it. The saved search password is used only for the saved server and
   * search DN: it is never sent to another server.
   */
  async ping(input: LdapConfInput = {}): Promise<{ success: boolean; message: string }> {
    const saved = ldapSettings(await this.deps.config.all());
    const url = input.ldap_url ?? saved.connection.url;
    const bindDn = input.ldap_search_dn ?? saved.connection.bindDn;
    const sameTarget = url === saved.connection.url && bindDn === saved.connection.bindDn;
    const connection: DirectoryConnection = {
      url,
      bindDn,
      bindPassword: input.ldap_search_password || (sameTarget ? saved.connection.bindPassword : ''),
      timeoutSeconds: input.ldap_connection_timeout ?? saved.connection.timeoutSeconds,
      verifyCert: input.ldap_verify_cert ?? saved.connection.verifyCert,
    };
    const users: DirectoryUserQuery = {
      ...saved.users,
      baseDn: input.ldap_base_dn ?? saved.users.baseDn,
      filter: input.ldap_filter ?? saved.users.filter,
      uidAttribute: input.ldap_uid || saved.users.uidAttribute,
      ...(input.ldap_scope === 0 || input.ldap_scope === 1 || input.ldap_scope === 2 ? { scope: input.ldap_scope } : {}),
    };
    if (url === '') return { success: false, message: 'no LDAP URL is set (ldap_url)' };
    let session: DirectorySession | undefined;
    try {
      session = await this.deps.directory.open(connection);
      if (users.baseDn !== '') await session.findUsers(users, undefined, 1);
      return { success: true, message: `connected to ${url} and bound as ${bindDn || 'anonymous'}` };
    } catch (e) {
      if (e instanceof DirectoryError) return { success: false, message: e.message };
      throw e;
    } finally {
      await session?.close();
    }
  }

  /** GET /ldap/users/search: the users of the filter with this uid, or all of them (at most 1000). */
  async searchUsers(username: string | undefined): Promise<LdapUserView[]> {
    const s = await this.configured();
    const found = await this.withSession(s, (session) => session.findUsers(s.users, username || undefined, SEARCH_LIMIT));
    return found.map((u) => ({ username: u.uid, realname: u.realname, email: u.email }));
  }

  /**
   * POST /ldap/users/import: onboards the directory users with these uids (without rights:
   * groups and the admin flag come at their first sign-in); returns the ones that failed.
   */
  async importUsers(actor: Actor, uids: readonly string[]): Promise<LdapFailedImport[]> {
    if (uids.length > IMPORT_MAX) throw badRequest(`at most ${IMPORT_MAX} users can be imported at once`);
    const s = await this.configured();
    const failures: LdapFailedImport[] = [];
    await this.withSession(s, async (session) => {
      for (const uid of new Set(uids.map((u) => u.trim()))) {
        if (!plausibleUsername(uid)) {
          failures.push({ uid, error: 'not a valid username' });
          continue;
        }
        if (await this.deps.metadata.users.getByUsername(uid)) {
          failures.push({ uid, error: 'the user already exists' });
          continue;
        }
        const found = await session.findUsers(s.users, uid, 2);
        if (found.length !== 1) {
          failures.push({ uid, error: found.length ? 'more than one directory entry has this uid' : 'the user was not found in the directory' });
          continue;
        }
        try {
          await this.authenticator.onboard(found[0]!, { actor });
        } catch (e) {
          if (!(isRegistryError(e) && e.code === 'CONFLICT')) throw e;
          failures.push({ uid, error: 'the user already exists' });
        }
      }
    });
    return failures;
  }

  /**
   * Harbor's SearchAndOnBoardUser: a directory user who has never signed in is onboarded when a
   * project admin adds them as a member by username. False when LDAP is not the auth mode or
   * the directory has no such user (the caller then answers 404 as for any unknown user).
   */
  async onboardForMembership(actor: Actor, uid: string): Promise<boolean> {
    const s = await this.settings.get();
    if (!s.enabled || s.connection.url === '') return false;
    const failures = await this.importUsers(actor, [uid]);
    return failures.length === 0 || failures[0]!.error === 'the user already exists';
  }

  /** GET /ldap/groups/search: the group at a DN, or the groups with this name below the group base DN. */
  async searchGroups(q: { name?: string; dn?: string }): Promise<DirectoryGroup[]> {
    if (!q.name && !q.dn) throw badRequest('give groupname or groupdn');
    const s = await this.configured();
    if (!q.dn && s.groups.baseDn === '') throw badRequest('no LDAP group base DN is set (ldap_group_base_dn)');
    const found = await this.withSession(s, (session) => session.findGroups(s.groups, q.dn ? { dn: q.dn } : { name: q.name! }, SEARCH_LIMIT));
    return found.map((g) => ({ dn: normalizeDn(g.dn), name: g.name }));
  }

  /** The directory group at `dn` (for a new Berth group of type LDAP), or undefined. */
  async findGroup(dn: string): Promise<DirectoryGroup | undefined> {
    return (await this.searchGroups({ dn }))[0];
  }

  private async configured(): Promise<LdapSettings> {
    const s = await this.settings.get();
    if (s.connection.url === '') throw badRequest('LDAP is not configured: set ldap_url');
    return s;
  }

  private async withSession<T>(s: LdapSettings, fn: (session: DirectorySession) => Promise<T>): Promise<T> {
    let session: DirectorySession | undefined;
    try {
      session = await this.deps.directory.open(s.connection);
      return await fn(session);
    } catch (e) {
      if (!(e instanceof DirectoryError)) throw e;
      this.deps.log?.warn({ kind: e.kind, reason: e.message }, 'LDAP request failed');
      if (e.kind === 'invalid') throw badRequest(`LDAP: ${e.message}`);
      throw new RegistryError('UNAVAILABLE', `LDAP: ${e.message}`);
    } finally {
      await session?.close();
    }
  }
}
