import { randomBytes } from 'node:crypto';
import { badRequest, conflict, forbidden, isRegistryError, notFound } from '../domain/errors.js';
import { type Principal, principalName } from '../domain/permission.js';
import type { User } from '../domain/records.js';
import type { AuditEvent } from '../ports/audit-repo.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, MetadataRepos, Page, UserFilter, UserSort } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { AccessService } from './access.service.js';
import type { ConfigService } from './config.service.js';
import type { LoginSource } from './login-throttle.js';
import type { SessionService } from './session.service.js';
import { type Permission, permissionsIn } from './user-permissions.js';

export const USERNAME = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,254}$/;
// Harbor's check: something@domain.tld, no spaces or brackets
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[A-Za-z]{2,}$/;
// Harbor refuses these in real names
const REALNAME_ILLEGAL = /[,~#$%]/;

/** Harbor's policy: 8 to 128 characters with an upper-case letter, a lower-case letter and a digit. */
export function checkPasswordPolicy(password: string): void {
  if (password.length < 8 || password.length > 128 || !/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) {
    throw badRequest('the password must be 8-128 characters long and contain an upper-case letter, a lower-case letter and a digit');
  }
}

export function generatePassword(): string {
  // base64url of 18 random bytes, with the policy's classes guaranteed
  return `${randomBytes(18).toString('base64url')}Aa1`;
}

/** Who asks for a change, for the audit log. */
export interface Actor {
  principal: Principal;
  /** the source address of the request */
  ip: string;
}

/** The operator of changes made outside any request (the CLI, the first start). */
const SYSTEM_ACTOR: Actor = { principal: { kind: 'user', userId: 0, username: 'system', sysadmin: true }, ip: '' };

export interface ProfileInput {
  email?: string;
  realname?: string;
  comment?: string;
}

export interface UserQuery {
  filter: UserFilter;
  sort?: UserSort;
  offset: number;
  limit: number;
}

export interface CurrentUser {
  user: User;
  /** sysadmin granted by the authenticator (an LDAP or OIDC admin group), not by the flag */
  adminRoleInAuth: boolean;
}

export class UserService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      hasher: PasswordHasher;
      clock: Clock;
      /** called when a user's credentials or rights change, to drop cached authentications */
      onCredentialsChanged?: (userId: number) => void;
      /** ends UI sessions in the change's transaction (and drops them from its cache) */
      sessions?: Pick<SessionService, 'closeAllOf'>;
      /** checks old passwords (throttled like every login) and takes the permission decisions */
      access?: Pick<AccessService, 'authenticatePassword' | 'authorize'>;
      settings?: Pick<ConfigService, 'get'>;
    },
  ) {}

  /**
   * Creates a local user. With an actor (the API) Harbor's rules apply: only in db_auth mode,
   * email unique; without one (the CLI, the first start) the operator is `system`.
   */
  async create(input: { username: string; password: string; email?: string; realname?: string; comment?: string; sysadmin?: boolean }, actor?: Actor): Promise<User> {
    if (!USERNAME.test(input.username) || input.username.startsWith('robot$')) {
      throw badRequest('the username must be 1-255 letters, digits or . _ @ -, starting with a letter or digit');
    }
    checkPasswordPolicy(input.password);
    checkProfile(input);
    if (actor && (await this.authMode()) !== 'db_auth') {
      throw forbidden(`local users cannot be created in ${await this.authMode()} mode: users come from the identity provider`);
    }
    const passwordHash = await this.deps.hasher.hash(input.password);
    const now = this.deps.clock.now();
    return this.deps.metadata.transaction(async (tx) => {
      if (input.email && (await tx.users.emailTaken(input.email))) throw conflict('the email address is already in use', { field: 'email' });
      const user = await tx.users.create({
        username: input.username,
        passwordHash,
        ...(input.email !== undefined ? { email: input.email } : {}),
        ...(input.realname !== undefined ? { realname: input.realname } : {}),
        ...(input.comment !== undefined ? { comment: input.comment } : {}),
        sysadmin: input.sysadmin ?? false,
        now,
      });
      await tx.audit.append(event(actor ?? SYSTEM_ACTOR, 'create', user.username, now, { user_id: user.id, sysadmin: user.sysadmin }));
      return user;
    });
  }

  async get(username: string): Promise<User | undefined> {
    return this.deps.metadata.users.getByUsername(username);
  }

  async getById(id: number): Promise<User> {
    const user = await this.deps.metadata.users.getById(id);
    if (!user) throw notFound(`user ${id} not found`);
    return user;
  }

  async list(q: UserQuery): Promise<Page<User>> {
    return this.deps.metadata.users.list(q.filter, { offset: q.offset, limit: q.limit, ...(q.sort ? { sort: q.sort } : {}) });
  }

  /** Harbor's /users/search: usernames containing the text, for pickers (ids and names only). */
  async search(text: string, page: { offset: number; limit: number }): Promise<Page<{ id: number; username: string }>> {
    const found = await this.deps.metadata.users.list({ usernameLike: text }, page);
    return { total: found.total, items: found.items.map((u) => ({ id: u.id, username: u.username })) };
  }

  async current(p: Principal): Promise<CurrentUser> {
    if (p.kind !== 'user') throw forbidden('robot accounts have no user profile');
    const user = await this.getById(p.userId);
    return { user, adminRoleInAuth: p.sysadmin && !user.sysadmin };
  }

  /** Harbor's /users/current/permissions. */
  async permissions(p: Principal, scope: string | undefined, relative: boolean): Promise<Permission[]> {
    if (!this.deps.access) throw new Error('UserService: permissions need the access service');
    return permissionsIn(p, scope, relative, { access: this.deps.access, projects: this.deps.metadata.projects });
  }

  /** Email, real name and comment; Harbor lets only local users (and admins for them) change them. */
  async updateProfile(actor: Actor, id: number, patch: ProfileInput): Promise<void> {
    checkProfile(patch);
    const user = await this.getById(id);
    if (user.authSource !== 'db') throw forbidden(`the profile of a ${user.authSource} user comes from the identity provider`);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (patch.email && (await tx.users.emailTaken(patch.email, id))) throw conflict('the email address is already in use', { field: 'email' });
      if (!(await tx.users.update(id, { ...patch, now }))) throw notFound(`user ${id} not found`);
      await tx.audit.append(event(actor, 'update', user.username, now, { user_id: id, fields: Object.keys(patch) }));
    });
  }

  /** The last administrator can be neither demoted nor deleted. */
  async setSysadmin(actor: Actor, id: number, sysadmin: boolean): Promise<void> {
    const user = await this.getById(id);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!sysadmin) await keepAnAdmin(tx, id);
      if (!(await tx.users.setSysadmin(id, sysadmin, now))) throw notFound(`user ${id} not found`);
      await tx.audit.append(event(actor, 'update', user.username, now, { user_id: id, sysadmin }));
    });
    this.deps.onCredentialsChanged?.(id);
  }

  /** Deletes the user with its memberships and sessions. Nobody deletes themselves. */
  async delete(actor: Actor, id: number): Promise<void> {
    if (actor.principal.kind === 'user' && actor.principal.userId === id) throw forbidden('you cannot delete your own account');
    const user = await this.getById(id);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (user.sysadmin) await keepAnAdmin(tx, id);
      await this.endSessions(tx, id);
      if (!(await tx.users.delete(id))) throw notFound(`user ${id} not found`);
      await tx.audit.append(event(actor, 'delete', user.username, now, { user_id: id }));
    });
    this.deps.onCredentialsChanged?.(id);
  }

  /**
   * Harbor's PUT /users/{id}/password: users change their own password with the old one; system
   * admins set anybody else's without it. Only local users have a password here. The user's
   * other sessions end; `keepSession` (the caller's own) stays.
   */
  async changePassword(
    actor: Actor,
    id: number,
    input: { oldPassword?: string; newPassword: string },
    opts: { mayWithoutOld: boolean; keepSession?: string },
  ): Promise<void> {
    const user = await this.getById(id);
    if (user.authSource !== 'db') throw forbidden(`the password of a ${user.authSource} user is managed by the identity provider`);
    const self = actor.principal.kind === 'user' && actor.principal.userId === id;
    if (self || !opts.mayWithoutOld) {
      if (input.oldPassword === undefined || input.oldPassword === '') throw badRequest('old_password is required to change your own password');
      if (!(await this.passwordMatches(user, input.oldPassword, actor.ip))) throw forbidden('the old password is incorrect');
    }
    checkPasswordPolicy(input.newPassword);
    const stored = await this.deps.metadata.users.passwordHash(id);
    if (stored && (await this.deps.hasher.verify(stored, input.newPassword))) throw badRequest('the new password must differ from the old one');
    await this.storePassword(actor, user, await this.deps.hasher.hash(input.newPassword), opts.keepSession);
  }

  /** `berth user passwd`: sets a local user's password; every session of the user ends. */
  async setPassword(username: string, password: string): Promise<void> {
    checkPasswordPolicy(password);
    const user = await this.deps.metadata.users.getByUsername(username);
    if (!user) throw notFound(`user ${username} not found`);
    await this.storePassword(SYSTEM_ACTOR, user, await this.deps.hasher.hash(password));
  }

  /**
   * The first start: creates `admin` with the given password, or a generated one that the
   * caller prints once. Returns the password only when it was generated.
   */
  async bootstrapAdmin(password: string | undefined): Promise<{ created: boolean; generated?: string }> {
    if (await this.deps.metadata.users.getByUsername('admin')) return { created: false };
    const generated = password === undefined ? generatePassword() : undefined;
    try {
      await this.create({ username: 'admin', password: password ?? generated!, sysadmin: true, realname: 'system admin' });
    } catch (e) {
      // another instance created it at the same moment
      if (isRegistryError(e) && e.code === 'CONFLICT') return { created: false };
      throw e;
    }
    return { created: true, ...(generated ? { generated } : {}) };
  }

  private async storePassword(actor: Actor, user: User, passwordHash: string, keepSession?: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.users.setPassword(user.id, passwordHash, now);
      await this.endSessions(tx, user.id, keepSession);
      await tx.audit.append(event(actor, 'update', user.username, now, { user_id: user.id, fields: ['password'] }));
    });
    this.deps.onCredentialsChanged?.(user.id);
  }

  private async endSessions(tx: MetadataRepos, userId: number, exceptId?: string): Promise<void> {
    const opts = { repos: tx, ...(exceptId !== undefined ? { exceptId } : {}) };
    if (this.deps.sessions) await this.deps.sessions.closeAllOf(userId, opts);
    else await tx.sessions.deleteForUser(userId, exceptId);
  }

  /** Through the access service when there is one, so that guessing old passwords is throttled too. */
  private async passwordMatches(user: User, password: string, ip: string): Promise<boolean> {
    if (this.deps.access) {
      const source: LoginSource = { ip, channel: 'ui' };
      const p = await this.deps.access.authenticatePassword(user.username, password, source);
      return p?.kind === 'user' && p.userId === user.id;
    }
    const stored = await this.deps.metadata.users.passwordHash(user.id);
    return stored !== undefined && this.deps.hasher.verify(stored, password);
  }

  private async authMode(): Promise<string> {
    return this.deps.settings ? this.deps.settings.get('auth_mode') : 'db_auth';
  }
}

/** Refuses to take away the last administrator (the rows stay locked until the change commits). */
async function keepAnAdmin(tx: MetadataRepos, id: number): Promise<void> {
  const admins = await tx.users.lockSysadmins();
  if (admins.includes(id) && admins.length <= 1) throw forbidden('the last system administrator cannot be demoted or deleted');
}

function checkProfile(p: ProfileInput): void {
  if (p.email !== undefined && p.email !== '' && (p.email.length > 255 || !EMAIL.test(p.email))) throw badRequest('email with illegal format');
  if (p.realname !== undefined && (p.realname.length > 255 || REALNAME_ILLEGAL.test(p.realname))) {
    throw badRequest('realname must be at most 255 characters, without , ~ # $ %');
  }
  if (p.comment !== undefined && p.comment.length > 255) throw badRequest('comment must be at most 255 characters');
}

function event(actor: Actor, operation: string, username: string, at: number, detail: Record<string, unknown>): AuditEvent {
  return {
    operator: principalName(actor.principal),
    operation,
    resourceType: 'user',
    resource: username,
    ...(actor.ip ? { sourceIp: actor.ip } : {}),
    result: 'success',
    detail,
    at,
  };
}
