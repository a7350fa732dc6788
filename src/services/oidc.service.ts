import { createHash, randomBytes } from 'node:crypto';
import { badRequest, notFound, preconditionFailed, RegistryError } from '../domain/errors.js';
import { type Principal, principalName } from '../domain/permission.js';
import type { User } from '../domain/records.js';
import type { Clock } from '../ports/clock.js';
import { GROUP_TYPES } from '../ports/identity-repos.js';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import { type OidcClient, OidcFailure, type OidcProviderSettings, type VerifiedIdentity } from '../ports/oidc-client.js';
import type { OidcPendingKind } from '../ports/oidc-repo.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { SecretSealer } from '../ports/secret-sealer.js';
import type { OpenSession, SessionService } from './session.service.js';
import { checkPasswordPolicy, generatePassword } from './user.service.js';

/** Who asks, and from where (the audit record's operator and source address). */
export interface OidcActor {
  principal: Principal;
  ip?: string;
}

/** Harbor's oidc_* configuration, read from the configurations table. */
export interface OidcSettings extends OidcProviderSettings {
  name: string;
  autoOnboard: boolean;
  userClaim: string;
  groupsClaim: string;
  /** Harbor's oidc_group_filter: a regular expression a group name must match to count */
  groupFilter: RegExp | undefined;
  adminGroup: string;
  extraParams: Record<string, string>;
}

/** How a callback ends: signed in, or the user must still choose a username (auto-onboarding off). */
export type SignInResult =
  | { kind: 'signed-in'; user: User; session: OpenSession; returnTo: string }
  | { kind: 'onboard'; token: string; username: string; returnTo: string };

/** Harbor's oidc_user_meta. */
export interface OidcUserMeta {
  id: number;
  userId: number;
  subiss: string;
  /** only for the user themself */
  secret?: string;
  createdAt: number;
  updatedAt: number;
}

interface PendingState {
  nonce: string;
  verifier: string;
  redirectUri: string;
  returnTo: string;
}

interface PendingOnboard {
  issuer: string;
  subject: string;
  email: string;
  realname: string;
  groups: string[];
  /** in oidc_admin_group */
  admin: boolean;
  returnTo: string;
}

/** how long a sign-in may stay at the provider, and an onboarding at the username form */
export const PENDING_TTL_MS = 10 * 60_000;
const KEEP = { state: 10_000, onboard: 1_000 } as const satisfies Record<OidcPendingKind, number>;
const MAX_GROUPS = 1_000;
/** the rule of local usernames (user.service.ts): an OIDC user types the same name for docker login */
const USERNAME = /^[a-zA-Z0-9][a-zA-Z0-9._@-]{0,254}$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const random = () => randomBytes(32).toString('base64url');

/**
 * OIDC sign-in for the UI (authorization code flow with PKCE, OIDC Core 1.0 §3.1 and RFC 7636),
 * Harbor's onboarding (automatic from a username claim, or by a username the user chooses),
 * groups and admin group from the token's claims, and the CLI secret every OIDC user has for
 * docker/helm/skopeo.
 *
 * The state, nonce and PKCE verifier of a sign-in are kept server-side (oidc_pending, sealed,
 * under the state's hash, bounded, single-use); the browser holds the state in a cookie too, so
 * that a callback only completes in the browser that started it (RFC 6749 §10.12).
 *
 * The CLI secret is stored twice: hashed (what authentication verifies) and sealed with the
 * secret key in the data folder, so that the user can see it again as Harbor shows it.
 */
export class OidcService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      client: OidcClient;
      sessions: SessionService;
      hasher: PasswordHasher;
      sealer: SecretSealer;
      clock: Clock;
      /** a user's credentials or rights changed: cached authentications must go */
      onCredentialsChanged?: (userId: number) => void;
    },
  ) {}

  async settings(): Promise<OidcSettings> {
    const c = await this.deps.metadata.config.all();
    if (c['auth_mode'] !== 'oidc_auth') throw preconditionFailed('the authentication mode is not oidc_auth');
    const endpoint = str(c['oidc_endpoint']);
    const clientId = str(c['oidc_client_id']);
    if (!endpoint || !clientId) throw preconditionFailed('OIDC is not configured: oidc_endpoint and oidc_client_id are required');
    // Harbor's default scope
    const scopes = str(c['oidc_scope'], 'openid,offline_access')
      .split(/[\s,]+/)
      .filter(Boolean);
    // OIDC Core §3.1.2.1: without the openid scope the request is not an OpenID request
    if (!scopes.includes('openid')) scopes.unshift('openid');
    return {
      name: str(c['oidc_name']),
      endpoint,
      clientId,
      clientSecret: str(c['oidc_client_secret']),
      scopes,
      verifyCert: bool(c['oidc_verify_cert'], true),
      autoOnboard: bool(c['oidc_auto_onboard'], false),
      userClaim: str(c['oidc_user_claim']),
      groupsClaim: str(c['oidc_groups_claim']),
      groupFilter: regex(str(c['oidc_group_filter'])),
      adminGroup: str(c['oidc_admin_group']),
      extraParams: extraParams(c['oidc_extra_redirect_parms']),
    };
  }

  /** Starts a sign-in: the provider's authorization URL, and the state the browser must keep. */
  async begin(input: { redirectUri: string; returnTo?: string }): Promise<{ url: string; state: string }> {
    const s = await this.settings();
    const state = random();
    const nonce = random();
    const verifier = random();
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const url = await this.deps.client
      .authorizationUrl(s, { redirectUri: input.redirectUri, state, nonce, codeChallenge: challenge, extra: s.extraParams })
      .catch((e: unknown) => rethrowFailure(e, 'setup'));
    const pending: PendingState = { nonce, verifier, redirectUri: input.redirectUri, returnTo: safeReturnTo(input.returnTo) };
    await this.putPending('state', state, pending);
    return { url, state };
  }

  /**
   * The provider's redirect back: checks the state against the browser's and takes it (once),
   * exchanges the code with the PKCE verifier, verifies the ID token, then signs the user in
   * (onboarding them when automatic onboarding is on). Nothing is created when any check fails.
   */
  async complete(input: { query: Record<string, string>; rawQuery: string; browserState: string | undefined; ip?: string }): Promise<SignInResult> {
    const state = input.query['state'];
    if (!state) throw badRequest('the callback has no state parameter');
    if (!input.browserState || input.browserState !== state) {
      throw badRequest('the state does not match the sign-in this browser started; start again from the login page');
    }
    const pending = await this.takePending<PendingState>('state', state);
    if (!pending) throw badRequest('this sign-in is unknown, expired or already used; start again from the login page');
    const s = await this.settings();
    let identity: VerifiedIdentity;
    try {
      identity = await this.deps.client.exchange(s, {
        redirectUri: pending.redirectUri,
        callbackQuery: input.rawQuery,
        expectedState: state,
        expectedNonce: pending.nonce,
        codeVerifier: pending.verifier,
      });
    } catch (e) {
      if (e instanceof OidcFailure) await this.auditFailure('anonymous', input.ip, e.message);
      return rethrowFailure(e);
    }
    const subiss = `${identity.issuer}|${identity.subject}`;
    const claimed = groupsOf(identity.claims, s.groupsClaim);
    // the filter decides which groups Berth keeps, not who the admin group names
    const groups = s.groupFilter ? claimed.filter((g) => s.groupFilter!.test(g)) : claimed;
    const admin = s.adminGroup !== '' && claimed.includes(s.adminGroup);
    const found = await this.deps.metadata.oidc.findBySubiss(subiss);
    if (found) {
      const user = await this.signInExisting(found.user, found.identity.adminByGroup, groups, admin, input.ip);
      return { kind: 'signed-in', user, session: await this.deps.sessions.open(user.id), returnTo: pending.returnTo };
    }
    const username = usernameOf(identity.claims, s.userClaim);
    const profile = { issuer: identity.issuer, subject: identity.subject, email: str(identity.claims['email']), realname: str(identity.claims['name']), groups, admin };
    if (!s.autoOnboard) {
      const token = random();
      await this.putPending('onboard', token, { ...profile, returnTo: pending.returnTo } satisfies PendingOnboard);
      return { kind: 'onboard', token, username: (username ?? '').replace(/\s+/g, '_').slice(0, 255), returnTo: pending.returnTo };
    }
    if (!username) {
      await this.auditFailure('anonymous', input.ip, `no username claim (${s.userClaim || 'name'}) in the token`);
      throw badRequest(`the ID token has no ${s.userClaim || 'name'} claim for the username; set oidc_user_claim to a claim the provider sends`);
    }
    const user = await this.onboardUser(username, profile, input.ip);
    return { kind: 'signed-in', user, session: await this.deps.sessions.open(user.id), returnTo: pending.returnTo };
  }

  /** Harbor's POST /c/oidc/onboard: the user of a pending onboarding chose a username. */
  async onboard(input: { token: string | undefined; username: string; ip?: string }): Promise<{ user: User; session: OpenSession; returnTo: string }> {
    if (!input.token) throw badRequest('no OIDC sign-in is waiting for onboarding in this browser; sign in again');
    // validated before the pending sign-in is taken, so that a typo does not cost the sign-in
    checkUsername(input.username);
    // OIDC may have been switched off since the callback
    await this.settings();
    const pending = await this.takePending<PendingOnboard>('onboard', input.token);
    if (!pending) throw badRequest('the OIDC sign-in waiting for onboarding is unknown, expired or used; sign in again');
    try {
      const user = await this.onboardUser(input.username, pending, input.ip);
      return { user, session: await this.deps.sessions.open(user.id), returnTo: pending.returnTo };
    } catch (e) {
      // a taken username: the user may choose another one with the same sign-in
      if (e instanceof RegistryError && e.code === 'CONFLICT') await this.putPending('onboard', input.token, pending);
      throw e;
    }
  }

  /** oidc_user_meta of a user, with the secret only when `withSecret` (the user themself). */
  async userMeta(userId: number, withSecret: boolean): Promise<OidcUserMeta | undefined> {
    const identity = await this.deps.metadata.oidc.getByUserId(userId);
    if (!identity) return undefined;
    const secret = withSecret ? this.deps.sealer.open(identity.secretSealed) : undefined;
    return {
      id: identity.userId,
      userId: identity.userId,
      subiss: identity.subiss,
      ...(secret !== undefined ? { secret } : {}),
      createdAt: identity.createdAt,
      updatedAt: identity.updatedAt,
    };
  }

  /**
   * Harbor's PUT /users/{id}/cli_secret: sets the given secret (it must meet the password
   * policy) or a generated one, which is returned. The old secret stops working at once.
   */
  async setCliSecret(actor: OidcActor, userId: number, secret: string | undefined): Promise<{ secret: string; generated: boolean }> {
    await this.settings();
    const user = await this.deps.metadata.users.getById(userId);
    if (!user) throw notFound(`user ${userId} not found`);
    if (user.authSource !== 'oidc') throw preconditionFailed(`user ${user.username} was not onboarded through OIDC and has no CLI secret`);
    if (secret !== undefined) checkPasswordPolicy(secret);
    const value = secret ?? generatePassword();
    const hash = await this.deps.hasher.hash(value);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.oidc.setCliSecret(userId, hash, this.deps.sealer.seal(value), now))) {
        throw preconditionFailed(`user ${user.username} has no OIDC identity`);
      }
      await tx.audit.append({
        operator: principalName(actor.principal),
        ...(actor.ip ? { sourceIp: actor.ip } : {}),
        operation: 'update',
        resourceType: 'user',
        resource: user.username,
        result: 'success',
        detail: { field: 'cli_secret', generated: secret === undefined },
        at: now,
      });
    });
    this.deps.onCredentialsChanged?.(userId);
    return { secret: value, generated: secret === undefined };
  }

  /** Harbor's POST /system/oidc/ping: the issuer's discovery document can be read and is valid. */
  async ping(url: string, verifyCert: boolean): Promise<void> {
    try {
      await this.deps.client.ping(url, verifyCert);
    } catch (e) {
      if (e instanceof OidcFailure) throw badRequest(e.message);
      throw e;
    }
  }

  private async signInExisting(user: User, adminByGroup: boolean, groups: string[], inAdminGroup: boolean, ip: string | undefined): Promise<User> {
    // the admin group grants sysadmin and takes back only what it granted, never a grant an
    // administrator gave by hand
    const admin = inAdminGroup && !user.sysadmin ? { sysadmin: true, byGroup: true } : !inAdminGroup && adminByGroup ? { sysadmin: false, byGroup: false } : undefined;
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await setGroups(tx, user.id, groups, now);
      if (admin) await tx.oidc.setAdmin(user.id, admin.sysadmin, admin.byGroup, now);
      await tx.audit.append(loginEvent(user.username, ip, now, admin ? { sysadmin: admin.sysadmin } : {}));
    });
    this.deps.onCredentialsChanged?.(user.id);
    // sessions opened while the user was an administrator end with the demotion
    if (admin && !admin.sysadmin) await this.deps.sessions.closeAllOf(user.id);
    return admin ? { ...user, sysadmin: admin.sysadmin } : user;
  }

  private async onboardUser(username: string, p: Omit<PendingOnboard, 'returnTo'>, ip: string | undefined): Promise<User> {
    try {
      checkUsername(username);
    } catch (e) {
      await this.auditFailure(username, ip, 'invalid username');
      throw e;
    }
    const subiss = `${p.issuer}|${p.subject}`;
    const secret = generatePassword();
    const cliSecretHash = await this.deps.hasher.hash(secret);
    const admin = p.admin;
    const now = this.deps.clock.now();
    try {
      return await this.deps.metadata.transaction(async (tx) => {
        const user = await tx.oidc.onboard({
          username,
          email: p.email.slice(0, 255),
          realname: p.realname.slice(0, 255),
          subiss,
          sysadmin: admin,
          adminByGroup: admin,
          cliSecretHash,
          secretSealed: this.deps.sealer.seal(secret),
          now,
        });
        await setGroups(tx, user.id, p.groups, now);
        await tx.audit.append({
          operator: username,
          ...(ip ? { sourceIp: ip } : {}),
          operation: 'create',
          resourceType: 'user',
          resource: username,
          result: 'success',
          detail: { auth_source: 'oidc', subiss, sysadmin: admin },
          at: now,
        });
        await tx.audit.append(loginEvent(username, ip, now, {}));
        return user;
      });
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'CONFLICT') {
        await this.auditFailure(username, ip, 'username taken');
        throw new RegistryError('CONFLICT', `the username ${username} is taken by another user; ask an administrator, or choose another one`);
      }
      throw e;
    }
  }

  private async putPending(kind: OidcPendingKind, token: string, data: object): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.metadata.oidc.putPending({
      id: sha256(token),
      kind,
      data: this.deps.sealer.seal(JSON.stringify(data)),
      expiresAt: now + PENDING_TTL_MS,
      now,
      keep: KEEP[kind],
    });
  }

  private async takePending<T>(kind: OidcPendingKind, token: string): Promise<T | undefined> {
    const sealed = await this.deps.metadata.oidc.takePending(sha256(token), kind, this.deps.clock.now());
    const json = sealed === undefined ? undefined : this.deps.sealer.open(sealed);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  private async auditFailure(operator: string, ip: string | undefined, reason: string): Promise<void> {
    const name = operator.slice(0, 255);
    await this.deps.metadata.transaction((tx) =>
      tx.audit.append({
        operator: name,
        ...(ip ? { sourceIp: ip } : {}),
        operation: 'login_failed',
        resourceType: 'user',
        resource: name,
        result: 'failure',
        detail: { channel: 'oidc', reason: reason.slice(0, 300) },
        at: this.deps.clock.now(),
      }),
    );
  }
}

function loginEvent(username: string, ip: string | undefined, at: number, detail: Record<string, unknown>) {
  return {
    operator: username,
    ...(ip ? { sourceIp: ip } : {}),
    operation: 'login',
    resourceType: 'user',
    resource: username,
    result: 'success' as const,
    detail: { channel: 'oidc', ...detail },
    at,
  };
}

/** The user's OIDC groups (Harbor's group type 3), as the token names them now. */
async function setGroups(tx: MetadataRepos, userId: number, names: string[], now: number): Promise<void> {
  const ids: number[] = [];
  for (const name of names) ids.push((await tx.groups.ensure({ name, type: GROUP_TYPES.oidc, now })).id);
  await tx.groups.setMemberships(userId, ids);
}

function checkUsername(username: string): void {
  if (!USERNAME.test(username) || username.startsWith('robot$')) {
    throw badRequest(`the username ${JSON.stringify(username.slice(0, 300))} is not valid: 1-255 letters, digits or . _ @ -, starting with a letter or digit`);
  }
}

/** oidc_user_claim, or Harbor's default: the `name` claim, then `preferred_username`. */
function usernameOf(claims: Record<string, unknown>, userClaim: string): string | undefined {
  const keys = userClaim ? [userClaim] : ['name', 'preferred_username'];
  for (const k of keys) {
    const v = claims[k];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function groupsOf(claims: Record<string, unknown>, groupsClaim: string): string[] {
  if (!groupsClaim) return [];
  const v = claims[groupsClaim];
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  const names = list.filter((g): g is string => typeof g === 'string' && g !== '' && g.length <= 255);
  return [...new Set(names)].slice(0, MAX_GROUPS);
}

/** Only a path on this site: a redirect after sign-in must not lead anywhere else. */
function safeReturnTo(v: string | undefined): string {
  return v && v.length <= 2000 && /^\/(?![/\\])/.test(v) && !/[\\\s]/.test(v) ? v : '/';
}

function regex(v: string): RegExp | undefined {
  if (!v) return undefined;
  try {
    return new RegExp(v);
  } catch {
    // the configurations API refuses a bad one; one stored before is ignored, not fatal
    return undefined;
  }
}

function str(v: unknown, dflt = ''): string {
  return typeof v === 'string' ? v : dflt;
}

function bool(v: unknown, dflt: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return dflt;
}

/** Harbor keeps oidc_extra_redirect_parms as a JSON object in a string. */
function extraParams(v: unknown): Record<string, string> {
  let o: unknown = v;
  if (typeof v === 'string') {
    if (v.trim() === '') return {};
    try {
      o = JSON.parse(v);
    } catch {
      return {};
    }
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return {};
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * The provider said no, or its answer did not verify: the sign-in is refused (401). A provider
 * that cannot be reached is 503; a discovery that fails its checks is a configuration problem.
 */
function rethrowFailure(e: unknown, during: 'sign-in' | 'setup' = 'sign-in'): never {
  if (e instanceof OidcFailure) {
    if (e.kind === 'unreachable') throw new RegistryError('UNAVAILABLE', e.message);
    if (during === 'setup') throw preconditionFailed(e.message);
    throw new RegistryError('UNAUTHORIZED', e.message);
  }
  throw e;
}
