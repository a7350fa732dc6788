import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { argon2Hasher } from './crypto/argon2.hasher.js';
import { loadAesGcmSealer } from './crypto/aes-gcm.sealer.js';
import { loadEs256Signer } from './crypto/jose.signer.js';
import { openMetadata } from './db/metadata.js';
import { ldaptsDirectory } from './directory/ldapts.directory.js';
import { buildApp } from './http/app.js';
import { OpenidOidcClient } from './identity/oidc/openid.client.js';
import type { Metadata } from './ports/metadata.js';
import type { StorageDriver } from './ports/storage-driver.js';
import { systemClock } from './ports/clock.js';
import { AccessService } from './services/access.service.js';
import { AuditService } from './services/audit.service.js';
import { BlobUploadService } from './services/blob-upload.service.js';
import { BlobService } from './services/blob.service.js';
import { ConfigService } from './services/config.service.js';
import { HealthService } from './services/health.service.js';
import { LdapService } from './services/ldap.service.js';
import { ManifestService } from './services/manifest.service.js';
import { OidcService } from './services/oidc.service.js';
import { MemberService } from './services/member.service.js';
import { ProjectService } from './services/project.service.js';
import { CveAllowlistService } from './services/cve-allowlist.service.js';
import { PullGateService } from './services/pull-gate.service.js';
import { ArtifactService } from './services/artifact.service.js';
import { LabelService } from './services/label.service.js';
import { RepositoryService } from './services/repository.service.js';
import { SearchService } from './services/search.service.js';
import { RepositoryResolver } from './services/repositories.js';
import { RobotService } from './services/robot.service.js';
import { LoginThrottle, MemoryFailureCounter } from './services/login-throttle.js';
import { RedisFailureCounter } from './cache/redis-failure-counter.js';
import { SessionService } from './services/session.service.js';
import { TagService } from './services/tag.service.js';
import { UserGroupService } from './services/user-group.service.js';
import { UiLoginService } from './services/ui-login.service.js';
import { UserService } from './services/user.service.js';
import { STORAGE_DRIVERS } from './storage/drivers.js';
import { HarborAdapterClient } from './scanner/adapter/harbor-adapter.client.js';
import { OciPullClient } from './scanner/adapter/oci-pull.client.js';
import { tarArchiveFiles } from './scanner/archive-files.js';
import { mergeLayers } from './scanner/layer-merge.js';
import { scanLayer } from './scanner/layer-reader.js';
import { AdapterScanService } from './services/adapter-scan.service.js';
import { ScannerRegistryService } from './services/scanner-registry.service.js';
import { FileFeedReader } from './scanner/vulndb/feed-reader.js';
import { HttpMirrorClient } from './scanner/vulndb/mirror-client.js';
import type { VulnerabilityMatcher } from './ports/vuln-matcher.js';
import { VulndbMatcher } from './services/vulndb-matcher.js';
import { VulndbService } from './services/vulndb.service.js';
import { builtinLayerAnalyzer } from './scanner/layer-analyzer.adapter.js';
import { ScanService } from './services/scan.service.js';
import { ScanAllService } from './services/scan-all.service.js';
import { JobRunner } from './jobs/runner.js';
import { jobHandlers } from './jobs/handlers.js';
import { startScanAllScheduler } from './jobs/scheduler.js';
import { PackageSearchService } from './services/package-search.service.js';
import { SecurityHubService } from './services/security-hub.service.js';
import { CveExportService } from './services/cve-export.service.js';
import { SbomService } from './services/sbom.service.js';
import { VERSION } from './version.js';

/** The only place that names concrete adapters. */
export interface Berth {
  config: Config;
  logger: Logger;
  metadata: Metadata;
  storage: StorageDriver;
  users: UserService;
  projects: ProjectService;
  access: AccessService;
  audit: AuditService;
  sessions: SessionService;
  settings: ConfigService;
  ldap: LdapService;
  uploads: BlobUploadService;
  scanners: ScannerRegistryService;
  /** the vulnerability policy on pulls; the scan pipeline plugs in with useScanStatusSource */
  pullGate: PullGateService;
  vulndb: VulndbService;
  /** SBOM referrers (CycloneDX, SPDX) of stored inventories: `sbom.onInventoryStored` is the scan pipeline's hook */
  sbom: SbomService;
  scans: ScanService;
  scanAll: ScanAllService;
  cveExports: CveExportService;
  /** the in-process job runner; undefined when jobs.inProcess is false */
  jobs: JobRunner | undefined;
  vulnMatcher: VulnerabilityMatcher;
  app: Awaited<ReturnType<typeof buildApp>>;
  close(): Promise<void>;
}

export function makeLogger(config: Config): Logger {
  return pino({
    level: config.log.level,
    base: { svc: 'berth' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.password', '*.secret', 'password', 'secret'], censor: '[redacted]' },
  });
}

export async function openDatabase(config: Config): Promise<Metadata> {
  const dataDir = resolve(config.dataDir);
  if (config.database.driver === 'postgres') {
    if (!config.database.url) throw new Error('database.url (BERTH_DATABASE_URL) is required for the postgres driver');
    const { url, poolSize, schema } = config.database;
    return openMetadata({ driver: 'postgres', url, poolSize, ...(schema !== undefined ? { schema } : {}) });
  }
  await mkdir(dataDir, { recursive: true });
  return openMetadata({ driver: 'sqlite', path: resolve(config.database.sqlitePath ?? join(dataDir, 'berth.db')) });
}

/** The vulnerability database service over an open database (the server's, or the CLI's). */
export function makeVulndbService(config: Config, metadata: Metadata, logger?: Logger): VulndbService {
  const v = config.vulndb;
  return new VulndbService({
    repo: metadata.vulndb,
    feeds: new FileFeedReader(),
    mirror: new HttpMirrorClient({ maxBytes: v.maxDownloadBytes, timeoutMs: v.downloadTimeoutSeconds * 1000 }),
    clock: systemClock,
    config: {
      ...(v.mirrorUrl ? { mirrorUrl: v.mirrorUrl } : {}),
      ecosystems: v.ecosystems.split(',').map((e) => e.trim()).filter((e) => e.length > 0),
      ...(v.kevUrl ? { kevUrl: v.kevUrl } : {}),
      ...(v.epssUrl ? { epssUrl: v.epssUrl } : {}),
      updateIntervalSeconds: v.updateIntervalSeconds,
    },
    ...(logger ? { log: logger } : {}),
  });
}

/** The user service alone, for `berth user …` commands that run beside a server. */
export async function openUserAdmin(config: Config): Promise<{ users: UserService; close(): Promise<void> }> {
  const metadata = await openDatabase(config);
  return { users: new UserService({ metadata, hasher: argon2Hasher, clock: systemClock }), close: () => metadata.close() };
}

export async function compose(config: Config, logger: Logger = makeLogger(config)): Promise<Berth> {
  if (config.scannerAdapter.enabled && !config.scannerAdapter.apiKey) {
    throw new Error('scannerAdapter.enabled needs scannerAdapter.apiKey (BERTH_SCANNER_ADAPTER_API_KEY): the adapter is never served without authentication');
  }
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const metadata = await openDatabase(config);
  const storage = await STORAGE_DRIVERS[config.storage.driver](config.storage, dataDir);
  const signer = await loadEs256Signer(resolve(config.auth.tokenKeyFile ?? join(dataDir, 'keys', 'token-es256.jwk')));
  const clock = systemClock;

  const access = new AccessService({
    metadata,
    hasher: argon2Hasher,
    signer,
    clock,
    config: { service: config.auth.service, issuer: config.auth.issuer, tokenTtlSeconds: config.auth.tokenTtlSeconds },
  });
  const sessions = new SessionService({ metadata, clock, config: { timeoutMs: config.auth.sessionTimeoutSeconds * 1000 } });
  const sealer = await loadAesGcmSealer(resolve(config.auth.secretKeyFile ?? join(dataDir, 'keys', 'secret.key')));
  const oidc = new OidcService({
    metadata,
    client: new OpenidOidcClient(() => clock.now()),
    sessions,
    hasher: argon2Hasher,
    sealer,
    clock,
    onCredentialsChanged: (id) => access.forgetUser(id),
  });
  const repositories = new RepositoryResolver({ metadata, clock });
  const audit = new AuditService({ metadata, clock, logger });
  const pullGate = new PullGateService({
    metadata,
    clock,
    config: { scanTimeoutMs: config.pullGate.scanTimeoutSeconds * 1000, cacheTtlMs: config.pullGate.cacheTtlMs },
    log: logger,
  });
  const allowlists = new CveAllowlistService({ metadata, clock, onChange: (projectId) => pullGate.forget(projectId) });
  const projects = new ProjectService({ metadata, clock, onChange: (name) => access.forgetProject(name), onPolicyChange: (id) => pullGate.forget(id) });
  const repositoryCatalog = new RepositoryService({ metadata, access, clock });
  const artifacts = new ArtifactService({ metadata, storage, clock, archives: tarArchiveFiles });
  const labels = new LabelService({ metadata, clock });
  const search = new SearchService({ metadata, access, projects });
  const robots = new RobotService({ metadata, hasher: argon2Hasher, clock, access, onChange: () => access.forgetDecisions() });
  const configuration = new ConfigService({
    metadata,
    clock,
    deployment: { tokenExpirationMinutes: Math.round(config.auth.tokenTtlSeconds / 60), sessionTimeoutMinutes: Math.round(config.auth.sessionTimeoutSeconds / 60) },
    onChange: () => access.forgetDecisions(),
  });
  // every password check (Basic, the token form, the UI sign-in) passes the failed-login throttle
  const lt = config.auth.loginThrottle;
  const throttlePolicy = {
    maxFailuresPerUser: lt.maxFailuresPerUser,
    maxFailuresPerAddress: lt.maxFailuresPerAddress,
    windowMs: lt.windowSeconds * 1000,
    lockoutMs: lt.lockoutSeconds * 1000,
    maxLockoutMs: lt.maxLockoutSeconds * 1000,
  };
  // with Redis the counters are every instance's; without it (or while it is down) this one's
  const localCounter = new MemoryFailureCounter(throttlePolicy, lt.maxTrackedKeys);
  let lastRedisWarning = 0;
  const redisError = (err: unknown) => {
    if (Date.now() - lastRedisWarning < 60_000) return;
    lastRedisWarning = Date.now();
    logger.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'Redis unavailable: failed logins are counted by this instance alone until it is back');
  };
  // ioredis is loaded only when it is used (it costs ~20 MiB of every process otherwise)
  const redisModule = config.redis.url ? await import('./cache/redis.js') : undefined;
  const redis = redisModule && config.redis.url ? await redisModule.openRedis(config.redis.url, redisError) : undefined;
  if (redis && !redis.connected) redisError(new Error('could not connect at start'));
  access.useLoginThrottle(
    new LoginThrottle({
      counter: redis ? new RedisFailureCounter(redis.redis, { policy: throttlePolicy, prefix: config.redis.keyPrefix, fallback: localCounter, onError: redisError }) : localCounter,
      policy: throttlePolicy,
      clock,
      recordFailure: (f) => audit.loginFailed(f.username, f.source?.ip, f.source?.channel ?? 'basic'),
    }),
  );
  const users = new UserService({ metadata, hasher: argon2Hasher, clock, sessions, access, settings: configuration, onCredentialsChanged: (id) => access.forgetUser(id) });
  const uiLogin = new UiLoginService({ metadata, access, sessions, clock });
  // the directory is asked at each sign-in of a non-local user; it answers only in ldap_auth mode
  const ldap = new LdapService({
    metadata,
    directory: ldaptsDirectory,
    hasher: argon2Hasher,
    clock,
    config: configuration,
    log: logger,
    onSettingsChanged: () => access.useExternalAuthenticator(ldap.authenticator),
    onUserChanged: (id) => access.forgetUser(id),
  });
  access.useExternalAuthenticator(ldap.authenticator);
  configuration.subscribe((changed) => {
    if (changed.some((k) => k === 'auth_mode' || k.startsWith('ldap_'))) ldap.configurationChanged();
  });
  const members = new MemberService({
    metadata,
    clock,
    onChange: () => access.forgetDecisions(),
    onboardUser: (actor, username) => ldap.onboardForMembership(actor, username),
  });
  const userGroups = new UserGroupService({ metadata, clock, directory: ldap, onChange: () => access.forgetDecisions() });
  const uploads = new BlobUploadService({
    metadata,
    storage,
    repositories,
    clock,
    config: { sessionTtlMs: config.uploads.sessionTtlSeconds * 1000, maxBlobBytes: config.uploads.maxBlobBytes },
  });
  const blobs = new BlobService({
    metadata,
    storage,
    repositories,
    config: { redirect: config.storage.redirect, redirectTtlSeconds: config.storage.redirectTtlSeconds },
    clock,
  });
  // a push of an image into an auto_scan project enqueues its scan in the push's transaction
  const manifests = new ManifestService({ metadata, storage, repositories, clock, audit, gate: pullGate, onPushed: (tx, pushed) => scans.onPush(tx, pushed) });
  const tags = new TagService({ metadata, repositories });
  const sbom: SbomService = new SbomService({ metadata, storage, uploads, manifests, clock, config: { toolVersion: VERSION, ...(config.externalUrl ? { externalUrl: config.externalUrl } : {}) } });
  const packageSearch = new PackageSearchService({ metadata, access });
  const securityHub = new SecurityHubService({ metadata });
  // the vulnerability database: imports, mirror updates, and the matcher scans run against
  const vulnMatcher = new VulndbMatcher({ repo: metadata.vulndb });
  const vulndb = makeVulndbService(config, metadata, logger);

  // the scan pipeline and its jobs: layers analysed once per digest, inventories matched again
  // when the vulnerability database changes
  const scans = new ScanService({
    metadata,
    storage,
    analyzer: builtinLayerAnalyzer,
    clock,
    matcher: vulnMatcher,
    scanners: { scannerFor: (projectId) => scanners.scannerFor(projectId) },
    packageIndex: (tx) => tx.packageIndex,
    onInventoryStored: (target, inventory): Promise<unknown> => sbom.onInventoryStored(target.repositoryName, target.digest, inventory),
    onEnqueued: () => jobRunner?.kick(),
    log: logger,
    config: { layerConcurrency: config.scan.layerConcurrency },
  });
  // the pull gate scans an unscanned image before its first pull (project prevent_vul)
  pullGate.useScanStatusSource(scans);
  const scanAll = new ScanAllService({ metadata, clock, onEnqueued: () => jobRunner?.kick() });
  vulndb.subscribe(async () => {
    const r = await scans.reevaluateAll();
    logger.info({ ...r }, 'stored inventories matched against the new vulnerability data');
  });
  const cveExports = new CveExportService({ metadata, storage, access, clock, onEnqueued: () => jobRunner?.kick() });
  const jc = config.jobs;
  const jobRunner = jc.inProcess
    ? new JobRunner({
        jobs: metadata.jobs,
        handlers: jobHandlers({ scans, scanAll, cveExports }),
        clock,
        log: logger,
        options: { concurrency: jc.concurrency, leaseMs: jc.leaseSeconds * 1000, pollMs: jc.pollMs, backoffBaseMs: jc.retryBaseSeconds * 1000 },
      })
    : undefined;

  const health = new HealthService({
    database: () => metadata.ping(),
    storage: () => storage.list(''),
  });

  // Harbor's pluggable scanners: registrations, the per-project choice (the scan pipeline's
  // ScannerSelector), and Berth's own scanner served as an adapter when enabled
  const adapterScans = new AdapterScanService({
    puller: new OciPullClient({ idleTimeoutMs: 60_000 }),
    analyzer: { analyze: (source, layerDigest, signal) => scanLayer(source, { layerDigest, ...(signal ? { signal } : {}) }), merge: mergeLayers },
    matcher: () => vulnMatcher,
    clock,
    log: logger,
    config: {
      maxConcurrent: config.scannerAdapter.maxConcurrentScans,
      maxRequests: config.scannerAdapter.maxRequests,
      reportTtlMs: config.scannerAdapter.reportTtlSeconds * 1000,
      version: VERSION,
    },
  });
  // the address this instance listens on, once it does (an adapter's internal registry URL)
  const listenUrl = (): string => {
    const a = app.server.address();
    if (a && typeof a === 'object') {
      const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
      return `http://${host}:${a.port}`;
    }
    return `http://${config.listen}`;
  };
  const scanners = new ScannerRegistryService({
    metadata,
    client: new HarborAdapterClient({ requestTimeoutMs: config.externalScanners.requestTimeoutSeconds * 1000 }),
    sealer,
    clock,
    pullToken: (repository, ttl) => access.issueInternalPullToken('berth-scanner', repository, ttl),
    registryUrl: (internal) => (internal ? listenUrl() : (config.externalUrl?.replace(/\/+$/, '') ?? listenUrl())),
    builtinMetadata: () => adapterScans.metadata(),
    log: logger,
    config: { scanTimeoutMs: config.externalScanners.scanTimeoutSeconds * 1000, tokenMarginSeconds: 300, builtinName: 'Berth' },
  });

  const app = await buildApp({
    logger,
    access,
    audit,
    sessions,
    uiLogin,
    users,
    settings: configuration,
    oidc,
    blobs,
    uploads,
    manifests,
    tags,
    projects,
    allowlists,
    repositories: repositoryCatalog,
    artifacts,
    labels,
    search,
    packages: packageSearch,
    sbom,
    members,
    robots,
    ldap,
    userGroups,
    health,
    vulndb,
    scans,
    scanAll,
    securityHub,
    cveExports,
    scanners,
    scannerAdapter: config.scannerAdapter.enabled && config.scannerAdapter.apiKey ? { scans: adapterScans, apiKey: config.scannerAdapter.apiKey } : undefined,
    info: {
      version: VERSION,
      storageDriver: storage.name,
      externalUrl: config.externalUrl,
      ...(storage.capacity ? { volume: () => storage.capacity!() } : {}),
    },
    config: {
      service: config.auth.service,
      externalUrl: config.externalUrl,
      manifestMaxBytes: config.limits.manifestMaxBytes,
      chunkMinLength: config.uploads.chunkMinLength,
    },
  });

  vulndb.start();
  jobRunner?.start();
  const scanSchedule = jobRunner ? startScanAllScheduler(scanAll, { intervalMs: jc.scheduleCheckSeconds * 1000, log: logger }) : undefined;

  return {
    config,
    logger,
    metadata,
    storage,
    users,
    projects,
    access,
    audit,
    sessions,
    settings: configuration,
    ldap,
    uploads,
    scanners,
    pullGate,
    sbom,
    vulndb,
    vulnMatcher,
    scans,
    scanAll,
    cveExports,
    jobs: jobRunner,
    app,
    async close() {
      await vulndb.stop();
      await app.close();
      // running jobs go back to the queue; none may touch the database after it closes
      scanSchedule?.stop();
      await jobRunner?.stop();
      // the pulls and failed logins still in memory
      await audit.close();
      await storage.close?.();
      if (redis && redisModule) await redisModule.closeRedis(redis.redis);
      await metadata.close();
    },
  };
}
