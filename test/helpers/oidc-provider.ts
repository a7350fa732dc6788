import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { unverifiedTlsFetch } from '../../src/identity/oidc/unverified-tls.fetch.js';

/**
 * A real OpenID provider (the npm `oidc-provider`, certified by the OpenID Foundation) on
 * 127.0.0.1, port 0, with one confidential client and the given accounts. Sign-in happens at
 * `/interaction/<uid>?account=<id>` (or `?deny=1`): what a login form would post, without a
 * form. Consent is implied for the client, as for a company's own application.
 */
export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** the next token response carries an ID token whose signature no longer verifies */
  tamperNextIdToken(): void;
  /** authorization codes the provider issued and saw redeemed (replays are refused by it too) */
  readonly codesRedeemed: number;
  stop(): Promise<void>;
}

export interface ProviderOptions {
  redirectUris: string[];
  /** account id → claims (the id is the subject) */
  accounts: Record<string, Record<string, unknown>>;
  /** false: claims asked for by scope are in the ID token as well as in UserInfo */
  conformIdTokenClaims?: boolean;
  /** serve HTTPS with this key and certificate (PEM) */
  tls?: { key: string; cert: string };
}

/** A self-signed certificate for 127.0.0.1, made by openssl. */
export async function selfSignedCert(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-oidc-tls-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function startOidcProvider(opts: ProviderOptions): Promise<TestOidcProvider> {
  const server = opts.tls ? createHttpsServer(opts.tls) : createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'berth';
  const clientSecret = randomBytes(24).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-1', alg: 'RS256', use: 'sig' };

  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'], groups: ['groups'] },
    conformIdTokenClaims: opts.conformIdTokenClaims ?? false,
    // a relying party that does not send PKCE (S256) is refused
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      const claims = opts.accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    // consent is implied: every scope the client asks for is granted
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (!accountId || !client) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope(String(ctx.oidc.params?.['scope'] ?? 'openid'));
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, config);
  let redeemed = 0;
  provider.on('authorization_code.consumed', () => redeemed++);
  const handle = provider.callback();
  let tamper = false;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    const m = /^\/interaction\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      void interact(provider, req, res, url).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    if (tamper && req.method === 'POST' && url.pathname === '/token') {
      tamper = false;
      breakIdTokenSignature(res);
    }
    void handle(req, res);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    tamperNextIdToken: () => {
      tamper = true;
    },
    get codesRedeemed() {
      return redeemed;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

async function interact(provider: Provider, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (url.searchParams.get('deny')) {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user said no' }, { mergeWithLastSubmission: false });
    return;
  }
  const account = url.searchParams.get('account');
  if (details.prompt.name !== 'login' || !account) {
    res.statusCode = 400;
    res.end(`interaction ${details.prompt.name}: sign in with ?account=<id>`);
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: account } }, { mergeWithLastSubmission: false });
}

/** Rewrites the token response so that one byte of the ID token's signature differs. */
function breakIdTokenSignature(res: ServerResponse): void {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.end = ((chunk?: unknown) => {
    const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk ?? '');
    const body = JSON.parse(text) as { id_token?: string };
    if (body.id_token) {
      const [h, p, sig = ''] = body.id_token.split('.');
      // a character in the middle: the last one may only carry padding bits
      const i = Math.floor(sig.length / 2);
      const flipped = sig[i] === 'A' ? 'B' : 'A';
      body.id_token = `${h}.${p}.${sig.slice(0, i)}${flipped}${sig.slice(i + 1)}`;
    }
    const out = JSON.stringify(body);
    if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(out));
    return end(out);
  }) as typeof res.end;
}

/**
 * A browser without a browser: fetch with manual redirects and a cookie jar per host, honouring
 * each cookie's Path and Max-Age=0. Like a browser told to ignore certificate errors, it
 * accepts any certificate (the test provider's is self-signed).
 */
export class TestBrowser {
  private readonly jar = new Map<string, { host: string; path: string; name: string; value: string }>();

  cookie(host: string, name: string): string | undefined {
    for (const c of this.jar.values()) if (c.host === host && c.name === name) return c.value;
    return undefined;
  }

  async get(url: string, init: RequestInit = {}): Promise<Response> {
    return this.request(url, { ...init, method: 'GET' });
  }

  async request(url: string, init: RequestInit): Promise<Response> {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const cookies = [...this.jar.values()].filter((c) => c.host === u.host && u.pathname.startsWith(c.path));
    if (cookies.length) headers.set('cookie', cookies.map((c) => `${c.name}=${c.value}`).join('; '));
    const res =
      u.protocol === 'https:'
        ? await unverifiedTlsFetch(url, { method: init.method ?? 'GET', headers: Object.fromEntries(headers), body: (init.body as string | undefined) ?? undefined, redirect: 'manual' })
        : await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(u, line);
    return res;
  }

  private store(u: URL, line: string): void {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = '/';
    let remove = false;
    for (const a of attrs) {
      const [k = '', v = ''] = a.split('=');
      if (k.toLowerCase() === 'path') path = v;
      if (k.toLowerCase() === 'max-age' && Number(v) <= 0) remove = true;
    }
    const key = `${u.host}|${path}|${name}`;
    if (remove) this.jar.delete(key);
    else this.jar.set(key, { host: u.host, path, name, value });
  }

  /**
   * From Berth's /c/oidc/login through the provider's sign-in to the URL the provider sends the
   * browser back to (Berth's callback, not yet requested).
   */
  async authorize(berthUrl: string, provider: TestOidcProvider, account: string, opts: { deny?: boolean; loginQuery?: string } = {}): Promise<string> {
    const start = await this.get(`${berthUrl}/c/oidc/login${opts.loginQuery ?? ''}`);
    if (start.status !== 302) throw new Error(`/c/oidc/login answered ${start.status}: ${await start.text()}`);
    let next = start.headers.get('location')!;
    for (let hops = 0; hops < 10; hops++) {
      if (!next.startsWith(provider.issuer)) return next;
      const u = new URL(next);
      if (u.pathname.startsWith('/interaction/')) u.search = opts.deny ? '?deny=1' : `?account=${encodeURIComponent(account)}`;
      const res = await this.get(u.href);
      if (res.status < 300 || res.status >= 400) throw new Error(`${u.pathname} answered ${res.status}: ${await res.text()}`);
      next = new URL(res.headers.get('location')!, u).href;
    }
    throw new Error('too many redirects at the provider');
  }
}
