import { randomUUID } from 'node:crypto';
import { badRequest, forbidden, notFound, RegistryError } from '../domain/errors.js';
import type { Finding } from '../domain/vulnerability.js';
import type { Clock } from '../ports/clock.js';
import {
  ADAPTER_MIME,
  type AdapterEndpoint,
  type AdapterMetadata,
  type ExternalScanRequest,
  type ScannerAdapterClient,
  type ScannerChoice,
  type ScannerSelector,
} from '../ports/external-scanner.js';
import type { Metadata } from '../ports/metadata.js';
import type { Page } from '../ports/page.js';
import type { NewScannerRegistration, ScannerAuth, ScannerFilter, ScannerRegistrationRecord, ScannerSort } from '../ports/scanner-registry-repo.js';
import type { SecretSealer } from '../ports/secret-sealer.js';
import type { IssuedToken } from './access.service.js';
import { TtlCache } from './ttl-cache.js';

/** Harbor's ScannerRegistrationReq, as the routes hand it over. */
export interface RegistrationInput {
  name: string;
  description?: string;
  url: string;
  auth?: string;
  access_credential?: string;
  skip_certVerify?: boolean;
  use_internal_addr?: boolean;
  disabled?: boolean;
}

/** A registration as the API shows it: the credential is never part of it. */
export interface ScannerView {
  record: ScannerRegistrationRecord;
  /** from a metadata request, when one was made: `healthy` or `unhealthy` */
  health?: 'healthy' | 'unhealthy';
  metadata?: AdapterMetadata;
}

export interface ScannerRegistryConfig {
  /** the longest a scan through an adapter may take, report polling included */
  scanTimeoutMs: number;
  /** the pull token handed to an adapter lives this much longer than the scan may take */
  tokenMarginSeconds: number;
  /** the name that the built-in registration goes by (reserved) */
  builtinName: string;
}

const AUTHS: readonly ScannerAuth[] = ['', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key'];
const METADATA_TTL_MS = 30_000;

/**
 * Harbor's pluggable scanner registrations and the choice of scanner per project; the
 * ScannerSelector of the scan pipeline: the project's choice, else the system default, else
 * Berth's built-in scanner. Credentials are sealed at rest and never leave the service except
 * towards their adapter.
 */
export class ScannerRegistryService implements ScannerSelector {
  private readonly metadataCache: TtlCache<number, { ok: true; m: AdapterMetadata } | { ok: false; e: RegistryError }>;

  constructor(
    private readonly deps: {
      metadata: Pick<Metadata, 'scanners' | 'transaction'>;
      client: ScannerAdapterClient;
      sealer: SecretSealer;
      clock: Clock;
      /** mints the adapter's pull token for one repository */
      pullToken: (repository: string, ttlSeconds: number) => Promise<IssuedToken>;
      /** the registry URL an adapter pulls from: external, or the internal address */
      registryUrl: (internal: boolean) => string;
      /** the built-in scanner's own metadata */
      builtinMetadata: () => AdapterMetadata;
      log: { warn(o: object, m: string): void };
      config: ScannerRegistryConfig;
    },
  ) {
    this.metadataCache = new TtlCache(1_000, () => deps.clock.now());
  }

  list(filter: ScannerFilter, page: { offset: number; limit: number; sort?: ScannerSort }): Promise<Page<ScannerRegistrationRecord>> {
    return this.deps.metadata.scanners.list(filter, page);
  }

  async find(uuid: string): Promise<ScannerRegistrationRecord> {
    const r = await this.deps.metadata.scanners.getByUuid(uuid);
    if (!r) throw notFound(`scanner ${uuid.slice(0, 64)} not found`);
    return r;
  }

  /** A registration with its health and adapter metadata (cached for 30 s, as Harbor does). */
  async view(uuid: string): Promise<ScannerView> {
    return this.withHealth(await this.find(uuid));
  }

  async create(input: RegistrationInput): Promise<ScannerRegistrationRecord> {
    const v = this.validate(input, undefined);
    // Harbor pings the adapter before it registers it: a registration that cannot answer is refused
    await this.deps.client.metadata(this.endpointOf(v.url, v.auth, v.credential, v.skipCertVerify)).then((m) => checkUsable(m, v.url));
    return this.deps.metadata.scanners.create({ uuid: randomUUID(), ...this.stored(v) });
  }

  async update(uuid: string, input: RegistrationInput): Promise<void> {
    const current = await this.find(uuid);
    if (current.builtin) throw forbidden(`registration ${current.name} is not allowed to update as it is immutable: scanner API: update`);
    const v = this.validate(input, current);
    if (current.isDefault && v.disabled) throw badRequest(`default registration ${current.name} can not be marked to deactivated`);
    await this.deps.metadata.scanners.update(current.id, this.stored(v));
    this.metadataCache.delete(current.id);
  }

  /** Deletes a registration; when it was the default, the built-in scanner is the default again. */
  async delete(uuid: string): Promise<ScannerRegistrationRecord> {
    const r = await this.find(uuid);
    if (r.builtin) throw forbidden(`registration ${r.name} is not allowed to delete as it is immutable: scanner API: delete`);
    await this.deps.metadata.transaction(async (tx) => {
      await tx.scanners.delete(r.id);
      if (!(await tx.scanners.getDefault())) {
        const builtin = await tx.scanners.getBuiltin();
        if (builtin) await tx.scanners.setDefault(builtin.id, this.deps.clock.now());
      }
    });
    this.metadataCache.delete(r.id);
    return r;
  }

  /** Harbor's PATCH {is_default}: true makes it the one default; false changes nothing. */
  async setDefault(uuid: string, isDefault: boolean): Promise<void> {
    const r = await this.find(uuid);
    if (!isDefault) return;
    if (r.disabled) throw badRequest(`registration ${r.name} is deactivated: it can not be the default`);
    await this.deps.metadata.scanners.setDefault(r.id, this.deps.clock.now());
  }

  /** GET /scanners/{id}/metadata: the adapter's metadata (the built-in scanner answers itself). */
  async adapterMetadata(uuid: string): Promise<AdapterMetadata> {
    const r = await this.find(uuid);
    if (r.builtin) return this.deps.builtinMetadata();
    const m = await this.cachedMetadata(r);
    if (!m.ok) throw m.e;
    return m.m;
  }

  /** POST /scanners/ping: the settings of a registration not yet made. */
  async ping(settings: { name?: string; url: string; auth?: string; access_credential?: string }): Promise<AdapterMetadata> {
    const v = this.validate({ name: settings.name ?? 'ping', url: settings.url, ...(settings.auth !== undefined ? { auth: settings.auth } : {}), ...(settings.access_credential !== undefined ? { access_credential: settings.access_credential } : {}) }, undefined, true);
    const m = await this.deps.client.metadata(this.endpointOf(v.url, v.auth, v.credential, false));
    checkUsable(m, v.url);
    return m;
  }

  /** The registration a project's scans use: its choice when still usable, else the default. */
  async effectiveFor(projectId: number): Promise<ScannerRegistrationRecord> {
    const repo = this.deps.metadata.scanners;
    const chosen = await repo.projectChoice(projectId);
    if (chosen && !chosen.disabled) return chosen;
    const d = await repo.getDefault();
    if (d && !d.disabled) return d;
    const builtin = await repo.getBuiltin();
    if (!builtin) throw new RegistryError('INTERNAL_ERROR', 'the built-in scanner registration is missing');
    return builtin;
  }

  async projectScanner(projectId: number): Promise<ScannerView> {
    return this.withHealth(await this.effectiveFor(projectId));
  }

  async setProjectScanner(projectId: number, uuid: string): Promise<void> {
    const r = await this.find(uuid);
    await this.deps.metadata.scanners.setProjectChoice(projectId, r.id, this.deps.clock.now());
  }

  // ---- ScannerSelector ----

  async scannerFor(projectId: number): Promise<ScannerChoice> {
    const r = await this.effectiveFor(projectId);
    if (r.builtin) return { kind: 'builtin' };
    return { kind: 'adapter', registrationId: r.id, name: r.name, scan: (req, signal) => this.scanWith(r, req, signal) };
  }

  /** Drives an adapter through one scan: capability check, pull token, request, report. */
  async scanWith(r: ScannerRegistrationRecord, req: ExternalScanRequest, signal?: AbortSignal): Promise<Finding[]> {
    const endpoint = this.endpoint(r);
    const m = await this.cachedMetadata(r);
    if (!m.ok) throw m.e;
    const cap = m.m.capabilities.find((c) => (c.type ?? 'vulnerability') === 'vulnerability' && c.consumes_mime_types.includes(req.mediaType));
    if (!cap) throw badRequest(`scanner ${r.name} can not scan artifacts of type ${req.mediaType.slice(0, 100)}`);
    const reportMimeType = [ADAPTER_MIME.vulnReport11, ADAPTER_MIME.vulnReport10].find((t) => cap.produces_mime_types.includes(t));
    if (!reportMimeType) throw badRequest(`scanner ${r.name} produces no Harbor vulnerability report (${ADAPTER_MIME.vulnReport11})`);
    const { scanTimeoutMs, tokenMarginSeconds } = this.deps.config;
    const token = await this.deps.pullToken(req.repository, scanTimeoutMs / 1000 + tokenMarginSeconds);
    return this.deps.client.scan(
      endpoint,
      {
        registry: { url: this.deps.registryUrl(r.useInternalAddr), authorization: `Bearer ${token.token}` },
        artifact: { repository: req.repository, digest: req.digest, ...(req.tag ? { tag: req.tag } : {}), mime_type: req.mediaType },
      },
      { reportMimeType, maxWaitMs: scanTimeoutMs, scannerName: r.name, ...(signal ? { signal } : {}) },
    );
  }

  private async withHealth(r: ScannerRegistrationRecord): Promise<ScannerView> {
    if (r.builtin) return { record: r, health: 'healthy', metadata: this.deps.builtinMetadata() };
    const m = await this.cachedMetadata(r);
    return m.ok ? { record: r, health: 'healthy', metadata: m.m } : { record: r, health: 'unhealthy' };
  }

  private async cachedMetadata(r: ScannerRegistrationRecord): Promise<{ ok: true; m: AdapterMetadata } | { ok: false; e: RegistryError }> {
    const hit = this.metadataCache.get(r.id);
    if (hit) return hit;
    let result: { ok: true; m: AdapterMetadata } | { ok: false; e: RegistryError };
    try {
      result = { ok: true, m: await this.deps.client.metadata(this.endpoint(r)) };
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      this.deps.log.warn({ scanner: r.name, err: e.message }, 'scanner adapter metadata request failed');
      result = { ok: false, e };
    }
    this.metadataCache.set(r.id, result, METADATA_TTL_MS);
    return result;
  }

  private endpoint(r: ScannerRegistrationRecord): AdapterEndpoint {
    let credential = '';
    if (r.credentialSealed) {
      const open = this.deps.sealer.open(r.credentialSealed);
      if (open === undefined) throw new RegistryError('INTERNAL_ERROR', `the access credential of scanner ${r.name} can not be read with this instance's secret key`);
      credential = open;
    }
    return this.endpointOf(r.url, r.auth, credential, r.skipCertVerify);
  }

  private endpointOf(url: string, auth: ScannerAuth, credential: string, skipCertVerify: boolean): AdapterEndpoint {
    return { url, auth, credential, skipCertVerify };
  }

  /** Harbor's Registration.Validate, plus Berth's reserved name and URL rules. */
  /** A validated registration as the repository stores it: the credential sealed. */
  private stored(v: ReturnType<ScannerRegistryService['validate']>): Omit<NewScannerRegistration, 'uuid'> {
    return {
      name: v.name,
      description: v.description,
      url: v.url,
      auth: v.auth,
      credentialSealed: v.credential ? this.deps.sealer.seal(v.credential) : '',
      disabled: v.disabled,
      skipCertVerify: v.skipCertVerify,
      useInternalAddr: v.useInternalAddr,
      now: this.deps.clock.now(),
    };
  }

  private validate(input: RegistrationInput, current: ScannerRegistrationRecord | undefined, ping = false) {
    const name = (input.name ?? '').trim();
    if (!name) throw badRequest('missing registration name');
    if (name.length > 255) throw badRequest('the registration name is longer than 255 characters');
    if (!ping && name === this.deps.config.builtinName) throw badRequest(`name "${name}" is reserved, please try a different name`);
    let url: URL;
    try {
      url = new URL(input.url ?? '');
    } catch {
      throw badRequest(`scanner adapter URL ${String(input.url).slice(0, 200)} is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('the scanner adapter URL must be http or https');
    if (url.username || url.password) throw badRequest('the scanner adapter URL must not hold credentials: use auth and access_credential');
    const auth = input.auth === 'None' || input.auth === undefined ? '' : input.auth;
    if (!(AUTHS as readonly string[]).includes(auth)) throw badRequest(`auth type ${auth.slice(0, 40)} is not supported`);
    let credential = input.access_credential ?? '';
    // GET never shows the credential: an update without one keeps the stored one (Harbor 2.14)
    if (credential === '' && auth !== '' && current?.credentialSealed && current.auth !== '') {
      credential = this.deps.sealer.open(current.credentialSealed) ?? '';
    }
    if (auth !== '' && credential === '') throw badRequest(`access_credential is required for auth type ${auth}`);
    if (credential.length > 8192) throw badRequest('access_credential is longer than 8192 characters');
    return {
      name,
      description: input.description ?? '',
      url: url.toString().replace(/\/+$/, ''),
      auth: auth as ScannerAuth,
      credential: auth === '' ? '' : credential,
      skipCertVerify: input.skip_certVerify ?? false,
      useInternalAddr: input.use_internal_addr ?? false,
      disabled: input.disabled ?? false,
    };
  }
}

/** An adapter Berth can use: it scans images and writes Harbor's vulnerability report. */
function checkUsable(m: AdapterMetadata, url: string): void {
  const reports: string[] = [ADAPTER_MIME.vulnReport11, ADAPTER_MIME.vulnReport10];
  const ok = m.capabilities.some((c) => c.produces_mime_types.some((t) => reports.includes(t)));
  if (!ok) throw badRequest(`the scanner adapter at ${url} produces no Harbor vulnerability report (${ADAPTER_MIME.vulnReport11})`);
}
