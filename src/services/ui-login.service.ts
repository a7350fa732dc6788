import { unauthorized } from '../domain/errors.js';
import type { Principal } from '../domain/permission.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';
import type { AccessService } from './access.service.js';
import type { OpenSession, SessionService } from './session.service.js';

const INVALID = 'invalid username or password';

/**
 * Harbor's UI sign-in (/c/login) and sign-out (/c/log_out): a password check through the access
 * service (so the login throttle applies), then a session opened in the transaction that audits
 * the login. Robot accounts never get a session, nor do OIDC users with their CLI secret (they
 * sign in through the provider).
 */
export class UiLoginService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      access: Pick<AccessService, 'authenticatePassword'>;
      sessions: Pick<SessionService, 'open' | 'close' | 'resolve'>;
      clock: Clock;
    },
  ) {}

  async login(input: { username: string; password: string; ip: string }): Promise<{ session: OpenSession; principal: Principal & { kind: 'user' } }> {
    if (input.username.startsWith('robot$')) throw unauthorized('robot accounts cannot sign in to the UI');
    const p = await this.deps.access.authenticatePassword(input.username, input.password, { ip: input.ip, channel: 'ui' });
    if (p?.kind !== 'user') throw unauthorized(INVALID);
    const user = await this.deps.metadata.users.getById(p.userId);
    if (!user) throw unauthorized(INVALID);
    if (user.authSource === 'oidc') throw unauthorized('OIDC users sign in through their identity provider (/c/oidc/login); the CLI secret is for command-line clients');
    const now = this.deps.clock.now();
    const session = await this.deps.metadata.transaction(async (tx) => {
      const s = await this.deps.sessions.open(user.id, tx);
      await tx.audit.append({
        operator: user.username,
        operation: 'login',
        resourceType: 'user',
        resource: user.username,
        sourceIp: input.ip,
        result: 'success',
        detail: { via: 'ui' },
        at: now,
      });
      return s;
    });
    return { session, principal: p };
  }

  /** Ends the session of the cookie, if it still is one; signing out twice is no error. */
  async logout(cookie: string | undefined, ip: string): Promise<void> {
    if (!cookie) return;
    const s = await this.deps.sessions.resolve(cookie);
    if (!s) {
      await this.deps.sessions.close(cookie);
      return;
    }
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await this.deps.sessions.close(cookie, tx);
      await tx.audit.append({
        operator: s.principal.username,
        operation: 'logout',
        resourceType: 'user',
        resource: s.principal.username,
        sourceIp: ip,
        result: 'success',
        detail: { via: 'ui' },
        at: now,
      });
    });
  }
}
