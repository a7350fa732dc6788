/** The settings of the OpenID provider (Harbor's oidc_* configuration). */
export interface OidcProviderSettings {
  /** the issuer URL; discovery at `<endpoint>/.well-known/openid-configuration` */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  verifyCert: boolean;
}

export interface AuthorizationRequest {
  redirectUri: string;
  state: string;
  nonce: string;
  codeChallenge: string;
  /** oidc_extra_redirect_parms; never overrides the parameters above */
  extra: Record<string, string>;
}

export interface CodeExchange {
  redirectUri: string;
  /** the query string the provider redirected the browser with (code, state, iss or error) */
  callbackQuery: string;
  expectedState: string;
  expectedNonce: string;
  codeVerifier: string;
}

/** A verified sign-in: the ID token's issuer and subject, and its claims merged with UserInfo. */
export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

/** Why a sign-in failed, in words safe to show the user. */
export class OidcFailure extends Error {
  constructor(
    readonly kind: 'provider' | 'unreachable' | 'invalid',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OidcFailure';
  }
}

/**
 * The relying-party side of OpenID Connect: discovery, the authorization URL, and the code
 * exchange with ID token validation (issuer, audience, nonce, expiry, signature by the
 * provider's JWKS). Failures are OidcFailure.
 */
export interface OidcClient {
  authorizationUrl(s: OidcProviderSettings, r: AuthorizationRequest): Promise<string>;
  exchange(s: OidcProviderSettings, x: CodeExchange): Promise<VerifiedIdentity>;
  /** fetches and checks the discovery document of an issuer */
  ping(endpoint: string, verifyCert: boolean): Promise<void>;
}
