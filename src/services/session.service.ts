import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from '../domain/permission.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import { TtlCache } from './ttl-cache.js';

export interface SessionConfig {
  /** idle time after which a UI session ends */
  timeoutMs: number;
}

export interface OpenSession {
  /** the cookie value; only its hash is stored */
  cookie: string;
  csrfToken: string;
  expiresAt: number;
}

export interface ResolvedSession {
  principal: Principal & { kind: 'user' };
  csrfToken: string;
  id: string;
}

const hashOf = (cookie: string) => createHash('sha256').update(cookie).digest('hex');

/**
 * UI sessions: a random cookie (stored hashed) with a CSRF token, sliding expiry. Robots never
 * get one. Resolved sessions are cached for a second so that a page's burst of API calls costs
 * one lookup.
 */
export class SessionService {
  private readonly cache: TtlCache<string, ResolvedSession>;

  constructor(private readonly deps: { metadata: Pick<Metadata, 'sessions' | 'users' | 'groups'>; clock: Clock; config: SessionConfig }) {
    this.cache = new TtlCache(10_000, () => deps.clock.now());
  }

  /** `repos` joins the caller's transaction (the login and its audit record commit together). */
  async open(userId: number, repos: Pick<MetadataRepos, 'sessions'> = this.deps.metadata): Promise<OpenSession> {
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = this.deps.clock.now();
    const expiresAt = now + this.deps.config.timeoutMs;
    await repos.sessions.create({ id: hashOf(cookie), userId, csrfToken, createdAt: now, expiresAt });
    return { cookie, csrfToken, expiresAt };
  }

  async resolve(cookie: string): Promise<ResolvedSession | undefined> {
    const id = hashOf(cookie);
    const cached = this.cache.get(id);
    if (cached) return cached;
    const s = await this.deps.metadata.sessions.get(id);
    const now = this.deps.clock.now();
    if (!s || s.expiresAt <= now) return undefined;
    const user = await this.deps.metadata.users.getById(s.userId);
    if (!user) return undefined;
    // slide the expiry, at most once a minute per session
    if (s.expiresAt - now < this.deps.config.timeoutMs - 60_000) await this.deps.metadata.sessions.touch(id, now + this.deps.config.timeoutMs);
    const groupIds = await this.deps.metadata.groups.groupIdsOf(user.id);
    const resolved: ResolvedSession = {
      id,
      csrfToken: s.csrfToken,
      principal: { kind: 'user', userId: user.id, username: user.username, sysadmin: user.sysadmin, ...(groupIds.length ? { groupIds } : {}) },
    };
    this.cache.set(id, resolved, 1_000);
    return resolved;
  }

  async close(cookie: string, repos: Pick<MetadataRepos, 'sessions'> = this.deps.metadata): Promise<void> {
    const id = hashOf(cookie);
    this.cache.delete(id);
    await repos.sessions.delete(id);
  }

  /** Ends every session of a user (password change, deletion) but `exceptId` (the caller's own). */
  async closeAllOf(userId: number, opts: { exceptId?: string; repos?: Pick<MetadataRepos, 'sessions'> } = {}): Promise<void> {
    this.cache.deleteWhere((id, s) => s.principal.userId === userId && id !== opts.exceptId);
    await (opts.repos ?? this.deps.metadata).sessions.deleteForUser(userId, opts.exceptId);
  }

  async sweep(): Promise<number> {
    return this.deps.metadata.sessions.deleteExpired(this.deps.clock.now());
  }
}
