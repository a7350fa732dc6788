import { setTimeout as sleep } from 'node:timers/promises';
import { badRequest, RegistryError } from '../../domain/errors.js';
import type { Finding } from '../../domain/vulnerability.js';
import {
  ADAPTER_MIME,
  type AdapterEndpoint,
  type AdapterMetadata,
  type AdapterScanRequest,
  type ScannerAdapterClient,
} from '../../ports/external-scanner.js';
import { findingsFromReport } from './harbor-report.js';
import { discard, type HttpResponse, parseJson, readBody, send } from './http-client.js';

export interface AdapterClientOptions {
  /** a request whose connection is silent this long fails (Harbor: 5 s) */
  requestTimeoutMs: number;
  /** the largest report accepted */
  maxReportBytes: number;
  /** between two report polls when the adapter names no interval (Harbor: 5 s) */
  defaultRetryMs: number;
}

const DEFAULTS: AdapterClientOptions = { requestTimeoutMs: 10_000, maxReportBytes: 256 * 1024 * 1024, defaultRetryMs: 5_000 };
/** An adapter asking for a longer wait than this is polled sooner anyway. */
const MAX_RETRY_MS = 60_000;
/** Nor sooner than this, whatever it asks: no hot loop on `Refresh-After: 0`. */
const MIN_RETRY_MS = 100;

/** The headers that authenticate Berth to an adapter, as Harbor's authorizers write them. */
function authHeaders(e: AdapterEndpoint): Record<string, string> {
  switch (e.auth) {
    case 'Basic':
      return { authorization: `Basic ${Buffer.from(e.credential).toString('base64')}` };
    case 'Bearer':
      return { authorization: `Bearer ${e.credential}` };
    case 'X-ScannerAdapter-API-Key':
      return { 'x-scanneradapter-api-key': e.credential };
    default:
      return {};
  }
}

/** The spec's ErrorResponse message, when the body is one. */
function adapterMessage(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } };
    const m = doc?.error?.message;
    return typeof m === 'string' && m !== '' ? m.slice(0, 500) : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds in Refresh-After (the spec's header) or Retry-After (HTTP's; seconds or a date). */
export function retryDelayMs(headers: HttpResponse['headers'], fallbackMs: number, now = Date.now()): number {
  const raw = (headers['refresh-after'] ?? headers['retry-after']) as string | undefined;
  let ms = fallbackMs;
  if (raw !== undefined) {
    const v = raw.trim();
    if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
    else if (!Number.isNaN(Date.parse(v))) ms = Date.parse(v) - now;
  }
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms));
}

/**
 * Harbor's scanner adapter API v1 client: metadata, scan submission and report polling, over
 * HTTP(S) with the registration's authentication. Every failure is a RegistryError whose message
 * names the adapter and the status, never a credential.
 */
export class HarborAdapterClient implements ScannerAdapterClient {
  private readonly opts: AdapterClientOptions;

  constructor(opts: Partial<AdapterClientOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  async metadata(e: AdapterEndpoint, signal?: AbortSignal): Promise<AdapterMetadata> {
    const what = `scanner adapter ${e.url}: GET /api/v1/metadata`;
    const res = await this.call(e, 'metadata', { headers: { accept: `${ADAPTER_MIME.metadata11}, ${ADAPTER_MIME.metadata}` } }, what, signal);
    const body = await this.expect(res, 200, what);
    return validateMetadata(parseJson(body, what), what);
  }

  async scan(e: AdapterEndpoint, request: AdapterScanRequest, opts: { reportMimeType: string; maxWaitMs: number; scannerName?: string; signal?: AbortSignal }): Promise<Finding[]> {
    const deadline = Date.now() + opts.maxWaitMs;
    const submit = `scanner adapter ${e.url}: POST /api/v1/scan`;
    const res = await this.call(
      e,
      'scan',
      { method: 'POST', headers: { 'content-type': ADAPTER_MIME.scanRequest, accept: ADAPTER_MIME.scanResponse }, body: JSON.stringify(request) },
      submit,
      opts.signal,
    );
    const accepted = parseJson(await this.expect(res, 202, submit), submit) as { id?: unknown };
    const id = typeof accepted?.id === 'string' ? accepted.id : '';
    if (!id || id.length > 512) throw new RegistryError('UNAVAILABLE', `${submit}: the answer has no scan request id`);

    const what = `scanner adapter ${e.url}: GET /api/v1/scan/${id.slice(0, 80)}/report`;
    for (;;) {
      opts.signal?.throwIfAborted();
      const r = await this.call(e, `scan/${encodeURIComponent(id)}/report`, { headers: { accept: opts.reportMimeType } }, what, opts.signal);
      if (r.status === 302) {
        discard(r);
        const wait = retryDelayMs(r.headers, this.opts.defaultRetryMs);
        if (Date.now() + wait > deadline) {
          throw new RegistryError('UNAVAILABLE', `${what}: the report was not ready within ${Math.round(opts.maxWaitMs / 1000)} s`);
        }
        await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {});
        continue;
      }
      const body = await this.expect(r, 200, what, this.opts.maxReportBytes);
      try {
        return findingsFromReport(parseJson(body, what), opts.scannerName ?? 'adapter');
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        throw new RegistryError('UNAVAILABLE', `${what}: ${(err as Error).message}`);
      }
    }
  }

  private call(e: AdapterEndpoint, path: string, init: { method?: string; headers: Record<string, string>; body?: string }, what: string, signal?: AbortSignal): Promise<HttpResponse> {
    const url = new URL(`${e.url.replace(/\/+$/, '')}/api/v1/${path}`);
    return send(
      url,
      { ...init, headers: { ...init.headers, ...authHeaders(e) }, idleTimeoutMs: this.opts.requestTimeoutMs, insecure: e.skipCertVerify, ...(signal ? { signal } : {}) },
      what,
    );
  }

  /** The body of an answer with the expected status; any other status is a clear error. */
  private async expect(res: HttpResponse, status: number, what: string, maxBytes = 4 * 1024 * 1024): Promise<Buffer> {
    if (res.status === status) return readBody(res, maxBytes, what);
    const body = await readBody(res, 64 * 1024, what).catch(() => Buffer.alloc(0));
    const said = adapterMessage(body);
    const tail = said ? `: ${said}` : '';
    if (res.status === 401 || res.status === 403) {
      throw badRequest(`${what}: the adapter refused Berth's credentials (${res.status})${tail}`);
    }
    if (res.status === 404) throw new RegistryError('UNAVAILABLE', `${what}: not found (404): is this a scanner adapter URL?${tail}`);
    throw new RegistryError('UNAVAILABLE', `${what}: unexpected status ${res.status}, expected ${status}${tail}`);
  }
}

/** Harbor's ScannerAdapterMetadata.Validate: a named scanner with at least one capability. */
export function validateMetadata(doc: unknown, what: string): AdapterMetadata {
  const bad = (m: string) => badRequest(`${what}: not a scanner adapter's metadata: ${m}`);
  if (typeof doc !== 'object' || doc === null) throw bad('not a JSON object');
  const d = doc as Record<string, unknown>;
  const s = d['scanner'] as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null || typeof s['name'] !== 'string' || s['name'] === '') throw bad('no scanner name');
  const caps = d['capabilities'];
  if (!Array.isArray(caps) || caps.length === 0) throw bad('no capabilities');
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').slice(0, 100) : []);
  const capabilities = caps.slice(0, 50).map((c: unknown) => {
    const o = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    return {
      ...(typeof o['type'] === 'string' ? { type: o['type'] } : {}),
      consumes_mime_types: list(o['consumes_mime_types']),
      produces_mime_types: list(o['produces_mime_types']),
      ...(typeof o['additional_attributes'] === 'object' && o['additional_attributes'] !== null ? { additional_attributes: o['additional_attributes'] as Record<string, unknown> } : {}),
    };
  });
  const props = d['properties'];
  const properties: Record<string, string> = {};
  if (typeof props === 'object' && props !== null) {
    for (const [k, v] of Object.entries(props).slice(0, 100)) if (typeof v === 'string') properties[k.slice(0, 200)] = v.slice(0, 1000);
  }
  return {
    scanner: { name: String(s['name']).slice(0, 200), vendor: typeof s['vendor'] === 'string' ? s['vendor'].slice(0, 200) : '', version: typeof s['version'] === 'string' ? s['version'].slice(0, 200) : '' },
    capabilities,
    properties,
  };
}
