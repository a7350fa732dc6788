import { request } from 'node:https';
import type { CustomFetchOptions } from 'openid-client';

const MAX_BODY = 1024 * 1024;

/**
 * fetch() for an OpenID provider whose certificate is not to be verified (Harbor's
 * oidc_verify_cert: false, for providers with a private CA the operator has not installed).
 * Node's own fetch takes no TLS options, hence node:https. Only what openid-client sends:
 * small bodies, no redirects followed; answers above 1 MiB are refused.
 */
export async function unverifiedTlsFetch(url: string, options: CustomFetchOptions): Promise<Response> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return fetch(url, options as RequestInit);
  const body = await bodyBytes(options.body);
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      target,
      {
        method: options.method,
        headers: { ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        rejectUnauthorized: false,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) res.destroy(new Error(`the provider's answer from ${target.origin} exceeds ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
          }
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 304;
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
        });
      },
    );
    req.on('error', (e) => reject(new TypeError('fetch failed', { cause: e })));
    req.end(body);
  });
}

async function bodyBytes(b: CustomFetchOptions['body']): Promise<Buffer | undefined> {
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string' || b instanceof URLSearchParams) return Buffer.from(b.toString());
  if (b instanceof Uint8Array) return Buffer.from(b);
  if (b instanceof ArrayBuffer) return Buffer.from(b);
  return Buffer.from(await new Response(b).arrayBuffer());
}
