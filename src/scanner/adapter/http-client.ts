import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RegistryError } from '../../domain/errors.js';

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** no byte for this long (connect, headers or body) ends the request */
  idleTimeoutMs: number;
  /** https: accept any certificate (a registration's skip_certVerify) */
  insecure?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  message: IncomingMessage;
}

/**
 * One HTTP exchange over node:http(s), so that certificate checks can be relaxed per request
 * (a registration's skip_certVerify) and bodies stream. Network failures become UNAVAILABLE
 * errors that name the host, never the headers (they carry credentials).
 */
export function send(url: URL, opts: HttpOptions, what: string): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => reject(networkError(what, url, e));
    const make = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let req;
    try {
      req = make(
        url,
        {
          method: opts.method ?? 'GET',
          headers: { ...(opts.headers ?? {}), ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}) },
          ...(url.protocol === 'https:' && opts.insecure ? { rejectUnauthorized: false } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        (res) => {
          res.setTimeout(opts.idleTimeoutMs, () => res.destroy(new Error(`no data for ${opts.idleTimeoutMs} ms`)));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, message: res });
        },
      );
    } catch (e) {
      fail(e as Error);
      return;
    }
    req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new Error(`no answer within ${opts.idleTimeoutMs} ms`)));
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** The whole body, up to `maxBytes` (more is an error: answers are small JSON documents). */
export async function readBody(res: HttpResponse, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res.message) {
      const b = c as Buffer;
      n += b.length;
      if (n > maxBytes) {
        res.message.destroy();
        throw new RegistryError('UNAVAILABLE', `${what}: the answer is larger than ${maxBytes} bytes`);
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof RegistryError) throw e;
    throw new RegistryError('UNAVAILABLE', `${what}: the answer was cut: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** Drains and drops a body we do not read, so the connection can be reused or closed. */
export function discard(res: HttpResponse): void {
  res.message.resume();
}

export function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new RegistryError('UNAVAILABLE', `${what}: the answer is not JSON`);
  }
}

function networkError(what: string, url: URL, e: Error): RegistryError {
  if (e.name === 'AbortError') return new RegistryError('UNAVAILABLE', `${what}: cancelled`);
  const code = (e as { code?: string }).code;
  const reason = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'host not found' : (code ?? e.message);
  return new RegistryError('UNAVAILABLE', `${what}: ${url.protocol}//${url.host} is unreachable (${reason})`);
}
