import { createHash, randomUUID } from 'node:crypto';
import {
  type Action,
  ANONYMOUS,
  isAllowed,
  type Principal,
  type ProjectFacts,
  parseScope,
  type Resource,
  type TokenAccess,
  tokenCovers,
} from '../domain/permission.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { TokenSigner } from '../ports/token-signer.js';
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

const TOKEN_ACTIONS: Record<string, readonly Action[]> = {
  repository: ['pull', 'push', 'delete'],
  registry: ['list'],
};

/**
 * Authentication (passwords, bearer tokens) and the one authorisation decision that every /v2
 * and /api route goes through. Verified credentials and tokens are cached so that the hot path
 * (manifest HEAD with a token) does no hashing and no database work.
 */
export class AccessService {
  private readonly passwordCache: TtlCache<string, { principal: Principal & { kind: 'user' }; hash: string }>;
  private readonly tokenCache: TtlCache<string, Principal>;
  private readonly projectCache: TtlCache<string, ProjectFacts>;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly deps: {
      metadata: Pick<Metadata, 'projects' | 'users'>;
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
  }

  async authenticatePassword(username: string, password: string): Promise<(Principal & { kind: 'user' }) | undefined> {
    const key = createHash('sha256').update(username).update('\0').update(password).digest('base64');
    const found = await this.deps.metadata.users.getWithPasswordHash(username);
    const user = found?.user;
    const hash = found?.passwordHash;
    // the cache spares the argon2 verification, not the lookup: a changed password or a
    // removed user takes effect at once, on every instance
    const cached = this.passwordCache.get(key);
    if (cached && user && hash && cached.hash === hash && cached.principal.userId === user.id) {
      return { ...cached.principal, sysadmin: user.sysadmin };
    }
    // verify against a dummy hash for unknown users, so timing does not tell who exists
    const ok = await this.deps.hasher.verify(hash ?? (await this.dummy()), password);
    if (!user || !hash || !ok) return undefined;
    const principal = { kind: 'user' as const, userId: user.id, username: user.username, sysadmin: user.sysadmin };
    this.passwordCache.set(key, { principal, hash }, 300_000);
    return principal;
  }

  /** Drops cached credentials of a user whose password or rights changed. */
  forgetUser(userId: number): void {
    this.passwordCache.deleteWhere((_, e) => e.principal.userId === userId);
  }

  forgetProject(name: string): void {
    this.projectCache.delete(name);
  }

  async authenticateBearer(token: string): Promise<Principal | undefined> {
    const cached = this.tokenCache.get(token);
    if (cached) return cached;
    const { service, issuer } = this.deps.config;
    const claims = await this.deps.signer.verify(token, { audience: service, issuer });
    if (!claims) return undefined;
    const access = Array.isArray(claims['access']) ? (claims['access'] as TokenAccess[]).filter(isTokenAccess) : [];
    const uid = claims['uid'];
    const principal: Principal =
      typeof uid === 'number' && typeof claims['sub'] === 'string' && claims['sub'] !== ''
        ? { kind: 'user', userId: uid, username: claims['sub'], sysadmin: claims['adm'] === true, token: { access } }
        : { kind: 'anonymous', token: { access } };
    const exp = typeof claims['exp'] === 'number' ? claims['exp'] * 1000 : 0;
    this.tokenCache.set(token, principal, Math.max(0, exp - this.deps.clock.now()));
    return principal;
  }

  /** THE authorisation decision. */
  async authorize(p: Principal, action: Action, resource: Resource): Promise<boolean> {
    if (p.token && (resource.type === 'repository' || resource.type === 'catalog')) {
      return tokenCovers(p.token.access, resource, action);
    }
    const project = await this.projectFacts(resource);
    return isAllowed(p, resource, action, project);
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
    return this.authorize(untokened(p), 'pull', source);
  }

  /** Docker token flow: the granted scope is the intersection of what was asked and what is allowed. */
  async issueToken(p: Principal, scopes: readonly string[]): Promise<IssuedToken> {
    const granted: TokenAccess[] = [];
    for (const s of scopes.flatMap(splitScopes)) {
      const asked = parseScope(s);
      if (!asked) continue;
      const resource = resourceOfScope(asked);
      if (!resource) continue;
      const candidates = asked.actions.includes('*') ? (TOKEN_ACTIONS[asked.type] ?? []) : asked.actions;
      const allowed: string[] = [];
      for (const a of candidates) {
        const action = asAction(asked.type, a);
        if (action && (await this.authorize(untokened(p), action, resource))) allowed.push(a);
      }
      if (asked.type === 'registry' && allowed.length) allowed.splice(0, allowed.length, '*');
      mergeAccess(granted, { type: asked.type, name: asked.name, actions: allowed });
    }
    const { service, issuer, tokenTtlSeconds } = this.deps.config;
    const user = p.kind === 'user' ? p : undefined;
    const token = await this.deps.signer.sign(
      {
        sub: user?.username ?? '',
        jti: randomUUID(),
        access: granted,
        ...(user ? { uid: user.userId, adm: user.sysadmin } : {}),
      },
      { expiresInSeconds: tokenTtlSeconds, audience: service, issuer },
    );
    return { token, expiresIn: tokenTtlSeconds, issuedAt: new Date(this.deps.clock.now()).toISOString() };
  }

  private async projectFacts(resource: Resource): Promise<ProjectFacts | undefined> {
    const name = resource.type === 'repository' ? resource.project : resource.type === 'project' ? resource.name : undefined;
    if (name === undefined) return undefined;
    const cached = this.projectCache.get(name);
    if (cached) return cached;
    const project = await this.deps.metadata.projects.getByName(name);
    const facts: ProjectFacts = { exists: !!project, public: project?.public ?? false };
    this.projectCache.set(name, facts, 2_000);
    return facts;
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

function resourceOfScope(a: TokenAccess): Resource | undefined {
  if (a.type === 'repository') {
    const slash = a.name.indexOf('/');
    if (slash <= 0) return undefined;
    return { type: 'repository', name: a.name, project: a.name.slice(0, slash) };
  }
  if (a.type === 'registry' && a.name === 'catalog') return { type: 'catalog' };
  return undefined;
}

function asAction(type: string, a: string): Action | undefined {
  if (type === 'registry') return a === '*' || a === 'list' ? 'list' : undefined;
  return (TOKEN_ACTIONS[type] ?? []).find((x) => x === a);
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
