import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import {
  type AuthorizationRequest,
  type CodeExchange,
  type OidcClient,
  OidcFailure,
  type OidcProviderSettings,
  type VerifiedIdentity,
} from '../../ports/oidc-client.js';
import { unverifiedTlsFetch } from './unverified-tls.fetch.js';

const TIMEOUT_SECONDS = 10;
/** discovery is read again after this long, so that a provider's changed metadata is seen */
const CONFIG_TTL_MS = 5 * 60_000;
const MAX_CONFIGS = 8;
/** Node's codes for a certificate that does not verify (as opposed to a provider that is down) */
const TLS_TRUST_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_/;

/**
 * The OidcClient on openid-client (OAuth 2.0 + OpenID Connect Core 1.0). ID tokens are checked
 * by openid-client for issuer, audience, nonce, expiry and — with non-repudiation checks on —
 * their signature against the provider's JWKS (OIDC Core 1.0 §3.1.3.7); the JWKS is cached per
 * discovered configuration and fetched again when a token names an unknown key.
 */
export class OpenidOidcClient implements OidcClient {
  private readonly configs = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

  constructor(private readonly now: () => number = Date.now) {}

  async authorizationUrl(s: OidcProviderSettings, r: AuthorizationRequest): Promise<string> {
    const config = await this.config(s);
    const params: Record<string, string> = {
      ...r.extra,
      response_type: 'code',
      redirect_uri: r.redirectUri,
      scope: s.scopes.join(' '),
      state: r.state,
      nonce: r.nonce,
      code_challenge: r.codeChallenge,
      code_challenge_method: 'S256',
    };
    return oidc.buildAuthorizationUrl(config, params).href;
  }

  async exchange(s: OidcProviderSettings, x: CodeExchange): Promise<VerifiedIdentity> {
    const config = await this.config(s);
    const current = new URL(x.redirectUri);
    current.search = x.callbackQuery;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: x.codeVerifier,
        expectedState: x.expectedState,
        expectedNonce: x.expectedNonce,
        idTokenExpected: true,
      });
      const id = tokens.claims();
      if (!id) throw new OidcFailure('invalid', 'the provider answered without an ID token');
      let claims: Record<string, unknown> = { ...id };
      // OIDC Core §5.3.2: UserInfo's sub must be the ID token's (fetchUserInfo checks it). Harbor
      // reads claims from UserInfo first and falls back to the ID token's.
      if (config.serverMetadata().userinfo_endpoint) {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, id.sub);
        claims = { ...claims, ...info, iss: id.iss, sub: id.sub, aud: id.aud };
      }
      return { issuer: id.iss, subject: id.sub, claims };
    } catch (e) {
      throw failure(e, s.endpoint);
    }
  }

  async ping(endpoint: string, verifyCert: boolean): Promise<void> {
    try {
      await this.discover({ endpoint, clientId: 'berth-ping', clientSecret: '', scopes: ['openid'], verifyCert }, true);
    } catch (e) {
      throw failure(e, endpoint);
    }
  }

  private config(s: OidcProviderSettings): Promise<oidc.Configuration> {
    const key = createHash('sha256').update(JSON.stringify([s.endpoint, s.clientId, s.clientSecret, s.verifyCert])).digest('base64url');
    const now = this.now();
    const hit = this.configs.get(key);
    if (hit && now - hit.at < CONFIG_TTL_MS) return hit.config;
    const config = this.discover(s).catch((e: unknown) => {
      this.configs.delete(key);
      throw failure(e, s.endpoint);
    });
    this.configs.delete(key);
    this.configs.set(key, { at: now, config });
    // a handful of settings at most (the configured one, and the one being changed to)
    for (const k of this.configs.keys()) {
      if (this.configs.size <= MAX_CONFIGS) break;
      this.configs.delete(k);
    }
    return config;
  }

  private async discover(s: OidcProviderSettings, metadataOnly = false): Promise<oidc.Configuration> {
    let server: URL;
    try {
      server = new URL(s.endpoint);
    } catch {
      throw new OidcFailure('invalid', `the OIDC endpoint ${JSON.stringify(s.endpoint.slice(0, 200))} is not a URL`);
    }
    if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new OidcFailure('invalid', 'the OIDC endpoint must be an http(s) URL');
    const options: oidc.DiscoveryRequestOptions = { timeout: TIMEOUT_SECONDS };
    // plain HTTP is the operator's choice (a provider on the same host or in tests), as in Harbor
    if (server.protocol === 'http:') options.execute = [oidc.allowInsecureRequests];
    if (!s.verifyCert) options[oidc.customFetch] = unverifiedTlsFetch;
    const discovered = await oidc.discovery(server, s.clientId, undefined, oidc.None(), options);
    if (metadataOnly) return discovered;
    // RFC 8414 §2: when the provider does not list its methods, client_secret_basic is the default
    const methods = discovered.serverMetadata().token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    // without a secret Berth is a public client, which PKCE alone protects (RFC 7636 §1)
    const auth =
      s.clientSecret === ''
        ? oidc.None()
        : methods.includes('client_secret_basic') || !methods.includes('client_secret_post')
          ? oidc.ClientSecretBasic(s.clientSecret)
          : oidc.ClientSecretPost(s.clientSecret);
    const config = new oidc.Configuration(discovered.serverMetadata(), s.clientId, s.clientSecret === '' ? undefined : { client_secret: s.clientSecret }, auth);
    config.timeout = TIMEOUT_SECONDS;
    if (!s.verifyCert) config[oidc.customFetch] = unverifiedTlsFetch;
    if (server.protocol === 'http:') oidc.allowInsecureRequests(config);
    oidc.enableNonRepudiationChecks(config);
    return config;
  }
}

function failure(e: unknown, endpoint: string): unknown {
  if (e instanceof OidcFailure) return e;
  if (e instanceof oidc.AuthorizationResponseError || e instanceof oidc.ResponseBodyError) {
    const detail = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
    return new OidcFailure('provider', `the OpenID provider refused the sign-in (${detail.slice(0, 300)})`, { cause: e });
  }
  if (e instanceof oidc.ClientError) {
    const cause = (e.cause as { message?: unknown } | undefined)?.message;
    const why = typeof cause === 'string' && cause !== e.message ? `${e.message}: ${cause}` : e.message;
    const unreachable = e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || e.code === 'OAUTH_RESPONSE_IS_NOT_JSON';
    return new OidcFailure(unreachable ? 'unreachable' : 'invalid', `OpenID provider ${endpoint}: ${why.slice(0, 300)}`, { cause: e });
  }
  // fetch() fails with TypeError('fetch failed') and the socket or TLS error as its cause
  const code = (e as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (e instanceof TypeError && typeof code === 'string' && TLS_TRUST_ERRORS.test(code)) {
    return new OidcFailure('invalid', `the certificate of the OpenID provider ${endpoint} is not trusted (${code}): install its CA, or set oidc_verify_cert to false`, { cause: e });
  }
  if ((e instanceof TypeError && e.message === 'fetch failed') || (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))) {
    const cause = (e.cause as { code?: unknown; message?: unknown } | undefined) ?? {};
    const why = typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : e.message;
    return new OidcFailure('unreachable', `the OpenID provider ${endpoint} cannot be reached (${why})`, { cause: e });
  }
  return e;
}
