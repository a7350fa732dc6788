import { createHash, randomUUID } from 'node:crypto';
import {
  type Action,
  ANONYMOUS,
  decide,
  type Facts,
  type Principal,
  parseScope,
  type Resource,
  repositoryResource,
  type Role,
  systemResource,
  TOKEN_ACTION,
  type TokenAccess,
  tokenCovers,
} from '../domain/permission.js';
import type { User } from '../domain/records.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { TokenSigner } from '../ports/token-signer.js';
import type { LoginSource, PasswordGuard } from './login-throttle.js';
import { TtlCache } from './ttl-cache.js';

export interface AccessConfig {
  /** the `service` of the Docker token flow, and the tokens' audience */
  service: string;
  issuer: string;
  tokenTtlSeconds: number;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

/**
 * Checks a username and password against a directory (LDAP) or another identity provider; on
 * success returns the (possibly just onboarded) user and its external groups.
 */
export interface ExternalAuthenticator {
  readonly name: string;
  authenticate(username: string, password: string): Promise<{ user: User; groupIds: number[] } | undefined>;
}

type UserPrincipal = Principal & { kind: 'user' };

const ROBOT_PREFIX = 'robot$';

/**
 * Authentication (passwords, robot secrets, CLI secrets, bearer tokens) and the one
 * authorisation decision that every /v2 and /api route goes through. Verified credentials,
 * tokens and role lookups are cached so that the hot path (manifest HEAD with a token) does no
 * hashing and no database work.
 */
export class AccessService {
  private readonly passwordCache: TtlCache<string, { principal: Principal; check: string }>;
  private readonly tokenCache: TtlCache<string, Principal>;
  private readonly projectCache: TtlCache<string, { id: number; exists: boolean; public: boolean }>;
  private readonly roleCache: TtlCache<string, Role[]>;
  private projectCreation: { value: Facts['projectCreation']; at: number } | undefined;
  private dummyHash: Promise<string> | undefined;
  private external: ExternalAuthenticator | undefined;
  private loginThrottle: PasswordGuard | undefined;

  constructor(
    private readonly deps: {
      metadata: Pick<Metadata, 'projects' | 'users' | 'members' | 'groups' | 'robots' | 'config'>;
      hasher: PasswordHasher;
      signer: TokenSigner;
      clock: Clock;
      config: AccessConfig;
    },
  ) {
    const now = () => deps.clock.now();
    this.passwordCache = new TtlCache(10_000, now);
    this.tokenCache = new TtlCache(50_000, now);
    this.projectCache = new TtlCache(10_000, now);
    this.roleCache = new TtlCache(50_000, now);
  }

  /** The directory that non-local users authenticate against (set by the auth mode). */
  useExternalAuthenticator(a: ExternalAuthenticator | undefined): void {
    this.external = a;
    this.passwordCache.clear();
  }

  /** Failed-login throttling around every password check (src/services/login-throttle.ts). */
  useLoginThrottle(t: PasswordGuard | undefined): void {
    this.loginThrottle = t;
  }

  /**
   * Basic credentials: a robot account (`robot$…` and its secret), a local user's password, an
   * OIDC user's CLI secret, or a directory user's password through the external authenticator.
   * Every check passes the login throttle; `source` adds the per-address limit.
   */
  async authenticatePassword(username: string, password: string, source?: LoginSource): Promise<Principal | undefined> {
    const check = () => this.checkPassword(username, password);
    return this.loginThrottle ? this.loginThrottle.guard(username, password, source, check) : check();
  }

  private async checkPassword(username: string, password: string): Promise<Principal | undefined> {
    const key = createHash('sha256').update(username).update('\0').update(password).digest('base64');
    const cached = this.passwordCache.get(key);
    if (username.startsWith(ROBOT_PREFIX)) return this.authenticateRobot(username, password, key, cached?.check);

    const found = await this.deps.metadata.users.getWithPasswordHash(username);
    const user = found?.user;
    // the stored secret to verify: the password hash, or the CLI secret of an OIDC user
    const stored = user?.authSource === 'oidc' ? await this.deps.metadata.users.cliSecretHash(user.id) : found?.passwordHash;
    // the cache spares the hash verification, not the lookup: a changed password or a removed
    // user takes effect at once, on every instance
    if (cached && user && stored && cached.check === stored && cached.principal.kind === 'user' && cached.principal.userId === user.id) {
      return { ...cached.principal, sysadmin: user.sysadmin };
    }
    if (user && (user.authSource === 'db' || user.authSource === 'oidc')) {
      const ok = stored !== undefined && stored !== null && (await this.deps.hasher.verify(stored, password));
      if (!ok) return undefined;
      const principal = await this.userPrincipal(user);
      this.passwordCache.set(key, { principal, check: stored! }, 300_000);
      return principal;
    }
    if (this.external) {
      // a directory user: the directory decides; the answer is kept briefly
      if (cached) return cached.principal;
      const r = await this.external.authenticate(username, password);
      if (!r) return undefined;
      const principal: UserPrincipal = { ...(await this.userPrincipal(r.user)), groupIds: r.groupIds };
      this.passwordCache.set(key, { principal, check: '' }, 60_000);
      return principal;
    }
    // no such user: verify against a dummy hash anyway, so timing does not tell who exists
    await this.deps.hasher.verify(await this.dummy(), password);
    return undefined;
  }

  private async authenticateRobot(name: string, secret: string, key: string, cachedCheck: string | undefined): Promise<Principal | undefined> {
    const found = await this.deps.metadata.robots.getWithSecret(name);
    if (!found) {
      await this.deps.hasher.verify(await this.dummy(), secret);
      return undefined;
    }
    const { robot, secretHash } = found;
    if (robot.disabled || (robot.expiresAt !== -1 && robot.expiresAt <= this.deps.clock.now())) return undefined;
    if (cachedCheck !== secretHash && !(await this.deps.hasher.verify(secretHash, secret))) return undefined;
    const principal: Principal = { kind: 'robot', robotId: robot.id, name: robot.name, permissions: robot.permissions };
    this.passwordCache.set(key, { principal, check: secretHash }, 300_000);
    return principal;
  }

  private async userPrincipal(user: User): Promise<UserPrincipal> {
    const groupIds = await this.deps.metadata.groups.groupIdsOf(user.id);
    return { kind: 'user', userId: user.id, username: user.username, sysadmin: user.sysadmin, ...(groupIds.length ? { groupIds } : {}) };
  }

  /** Drops cached credentials and roles of a user whose password or rights changed. */
  forgetUser(userId: number): void {
    this.passwordCache.deleteWhere((_, e) => e.principal.kind === 'user' && e.principal.userId === userId);
    this.roleCache.clear();
  }

  forgetProject(name: string): void {
    this.projectCache.delete(name);
    this.roleCache.clear();
  }

  /** After a member or robot change: decisions are taken again from the database. */
  forgetDecisions(): void {
    this.roleCache.clear();
    this.passwordCache.deleteWhere((_, e) => e.principal.kind === 'robot');
    this.projectCreation = undefined;
  }

  async authenticateBearer(token: string): Promise<Principal | undefined> {
    const cached = this.tokenCache.get(token);
    if (cached) return cached;
    const { service, issuer } = this.deps.config;
    const claims = await this.deps.signer.verify(token, { audience: service, issuer });
    if (!claims) return undefined;
    const access = Array.isArray(claims['access']) ? (claims['access'] as TokenAccess[]).filter(isTokenAccess) : [];
    const sub = typeof claims['sub'] === 'string' ? claims['sub'] : '';
    const uid = claims['uid'];
    const rid = claims['rid'];
    const principal: Principal =
      typeof uid === 'number' && sub !== ''
        ? { kind: 'user', userId: uid, username: sub, sysadmin: claims['adm'] === true, token: { access } }
        : typeof rid === 'number' && sub !== ''
          ? { kind: 'robot', robotId: rid, name: sub, permissions: [], token: { access } }
          : { kind: 'anonymous', token: { access } };
    const exp = typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : 0;
    this.tokenCache.set(token, principal, Math.max(0, exp - this.deps.clock.now()));
    return principal;
  }

  /** THE authorisation decision. A bearer token's grants are the cached decision for repositories. */
  async authorize(p: Principal, action: Action, resource: Resource): Promise<boolean> {
    if (p.token && (resource.scope === 'project' ? resource.repository !== undefined : resource.resource === 'catalog')) {
      return tokenCovers(p.token.access, resource, action);
    }
    return decide(p, resource, action, await this.facts(p, resource));
  }

  /**
   * Whether a cross-repository mount may take the blob from `source`. This is decided on who the
   * caller is, not on the token's scope: the token was asked for the target repository only (a
   * mount without `from` cannot even name the source), a mount hands the client no bytes, and
   * the token's subject could obtain a token for the source anyway. Without a right to pull
   * there the registry falls back to an upload (dist-spec "Mounting a blob from another
   * repository").
   */
  async mayMountFrom(p: Principal, source: Resource): Promise<boolean> {
    if (p.token && p.kind === 'robot') return tokenCovers(p.token.access, source, 'pull');
    return this.authorize(untokened(p), 'pull', source);
  }

  /** The roles the principal holds in a project (for Harbor's current_user_role_ids). */
  async rolesIn(p: Principal, projectName: string): Promise<Role[]> {
    const project = await this.projectFacts(projectName);
    return project.exists ? this.roles(p, project.id) : [];
  }

  /** Docker token flow: the granted scope is the intersection of what was asked and what is allowed. */
  async issueToken(p: Principal, scopes: readonly string[]): Promise<IssuedToken> {
    const granted: TokenAccess[] = [];
    const subject = untokened(p);
    for (const s of scopes.flatMap(splitScopes)) {
      const asked = parseScope(s);
      if (!asked) continue;
      let allowed: string[] = [];
      if (asked.type === 'repository' && asked.name.includes('/')) {
        const candidates = asked.actions.includes('*') ? Object.keys(TOKEN_ACTION) : asked.actions;
        for (const a of candidates) {
          const m = TOKEN_ACTION[a];
          const target = repositoryResource(asked.name);
          if (m && target.scope === 'project' && (await this.authorize(subject, m.action, { ...target, resource: m.resource }))) allowed.push(a);
        }
      } else if (asked.type === 'registry' && asked.name === 'catalog') {
        if (await this.authorize(subject, 'list', systemResource('catalog'))) allowed = ['*'];
      } else {
        continue;
      }
      mergeAccess(granted, { type: asked.type, name: asked.name, actions: allowed });
    }
    const { service, issuer, tokenTtlSeconds } = this.deps.config;
    const token = await this.deps.signer.sign(
      {
        sub: p.kind === 'user' ? p.username : p.kind === 'robot' ? p.name : '',
        jti: randomUUID(),
        access: granted,
        ...(p.kind === 'user' ? { uid: p.userId, adm: p.sysadmin } : {}),
        ...(p.kind === 'robot' ? { rid: p.robotId } : {}),
      },
      { expiresInSeconds: tokenTtlSeconds, audience: service, issuer },
    );
    return { token, expiresIn: tokenTtlSeconds, issuedAt: new Date(this.deps.clock.now()).toISOString() };
  }

  /**
   * A pull-only token for one repository, for an internal principal that is no user or robot
   * account: a scanner adapter pulling the artifact it was asked to scan (Harbor gives adapters
   * a temporary robot's credentials instead). The token carries `rid: 0`, so /v2 sees a robot
   * with no permissions of its own: only the token's one grant counts. Never log the token.
   * `scanner-pull` marks the scanner's own pulls, which the pull gate (project prevent_vul)
   * lets through; issueToken never grants it (it is no Docker token action).
   */
  async issueInternalPullToken(subject: string, repository: string, ttlSeconds: number): Promise<IssuedToken> {
    const { service, issuer } = this.deps.config;
    const ttl = Math.max(30, Math.min(Math.round(ttlSeconds), 86_400));
    const token = await this.deps.signer.sign(
      { sub: subject, rid: 0, jti: randomUUID(), access: [{ type: 'repository', name: repository, actions: ['pull', 'scanner-pull'] }] },
      { expiresInSeconds: ttl, audience: service, issuer },
    );
    return { token, expiresIn: ttl, issuedAt: new Date(this.deps.clock.now()).toISOString() };
  }

  private async facts(p: Principal, resource: Resource): Promise<Facts> {
    const projectCreation = await this.projectCreationRule();
    if (resource.scope !== 'project') return { projectCreation };
    const project = await this.projectFacts(resource.project);
    const roles = project.exists ? await this.roles(p, project.id) : [];
    return { projectCreation, project: { exists: project.exists, public: project.public, roles } };
  }

  private async roles(p: Principal, projectId: number): Promise<Role[]> {
    if (p.kind !== 'user') return [];
    const key = `${projectId}:${p.userId}:${(p.groupIds ?? []).join(',')}`;
    const cached = this.roleCache.get(key);
    if (cached) return cached;
    const groupIds = p.groupIds ?? (p.token ? await this.deps.metadata.groups.groupIdsOf(p.userId) : []);
    const roles = await this.deps.metadata.members.rolesOf(projectId, p.userId, groupIds);
    this.roleCache.set(key, roles, 2_000);
    return roles;
  }

  private async projectFacts(name: string): Promise<{ id: number; exists: boolean; public: boolean }> {
    const cached = this.projectCache.get(name);
    if (cached) return cached;
    const project = await this.deps.metadata.projects.getByName(name);
    const facts = { id: project?.id ?? 0, exists: !!project, public: project?.public ?? false };
    this.projectCache.set(name, facts, 2_000);
    return facts;
  }

  private async projectCreationRule(): Promise<Facts['projectCreation']> {
    const now = this.deps.clock.now();
    if (this.projectCreation && now - this.projectCreation.at < 5_000) return this.projectCreation.value;
    const v = await this.deps.metadata.config.get('project_creation_restriction');
    const value = v === 'adminonly' ? 'adminonly' : 'everyone';
    this.projectCreation = { value, at: now };
    return value;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash(randomUUID());
    return this.dummyHash;
  }
}

export { ANONYMOUS };

function untokened(p: Principal): Principal {
  if (!p.token) return p;
  const { token: _ignored, ...rest } = p;
  return rest as Principal;
}

/** Some clients send several scopes space-separated in one parameter. */
function splitScopes(s: string): string[] {
  return s.split(' ').filter(Boolean);
}

function mergeAccess(list: TokenAccess[], a: TokenAccess): void {
  const same = list.find((x) => x.type === a.type && x.name === a.name);
  if (same) same.actions = [...new Set([...same.actions, ...a.actions])];
  else list.push(a);
}

function isTokenAccess(a: unknown): a is TokenAccess {
  const x = a as TokenAccess;
  return typeof x === 'object' && x !== null && typeof x.type === 'string' && typeof x.name === 'string' && Array.isArray(x.actions);
}
