import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { argon2Hasher } from './crypto/argon2.hasher.js';
import { loadAesGcmSealer } from './crypto/aes-gcm.sealer.js';
import { loadEs256Signer } from './crypto/jose.signer.js';
import { openMetadata } from './db/metadata.js';
import { buildApp } from './http/app.js';
import { OpenidOidcClient } from './identity/oidc/openid.client.js';
import type { Metadata } from './ports/metadata.js';
import type { StorageDriver } from './ports/storage-driver.js';
import { systemClock } from './ports/clock.js';
import { AccessService } from './services/access.service.js';
import { BlobUploadService } from './services/blob-upload.service.js';
import { BlobService } from './services/blob.service.js';
import { HealthService } from './services/health.service.js';
import { ManifestService } from './services/manifest.service.js';
import { OidcService } from './services/oidc.service.js';
import { MemberService } from './services/member.service.js';
import { ProjectService } from './services/project.service.js';
import { ArtifactService } from './services/artifact.service.js';
import { LabelService } from './services/label.service.js';
import { RepositoryService } from './services/repository.service.js';
import { SearchService } from './services/search.service.js';
import { RepositoryResolver } from './services/repositories.js';
import { RobotService } from './services/robot.service.js';
import { SessionService } from './services/session.service.js';
import { TagService } from './services/tag.service.js';
import { UserService } from './services/user.service.js';
import { STORAGE_DRIVERS } from './storage/drivers.js';
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
  sessions: SessionService;
  uploads: BlobUploadService;
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

/** The user service alone, for `berth user …` commands that run beside a server. */
export async function openUserAdmin(config: Config): Promise<{ users: UserService; close(): Promise<void> }> {
  const metadata = await openDatabase(config);
  return { users: new UserService({ metadata, hasher: argon2Hasher, clock: systemClock }), close: () => metadata.close() };
}

export async function compose(config: Config, logger: Logger = makeLogger(config)): Promise<Berth> {
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
  const users = new UserService({ metadata, hasher: argon2Hasher, clock, onCredentialsChanged: (id) => access.forgetUser(id) });
  const projects = new ProjectService({ metadata, clock, onChange: (name) => access.forgetProject(name) });
  const repositoryCatalog = new RepositoryService({ metadata, access, clock });
  const artifacts = new ArtifactService({ metadata, storage, clock });
  const labels = new LabelService({ metadata, clock });
  const search = new SearchService({ metadata, access, projects });
  const members = new MemberService({ metadata, clock, onChange: () => access.forgetDecisions() });
  const robots = new RobotService({ metadata, hasher: argon2Hasher, clock, access, onChange: () => access.forgetDecisions() });
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
  });
  const manifests = new ManifestService({ metadata, storage, repositories, clock });
  const tags = new TagService({ metadata, repositories });
  const health = new HealthService({
    database: () => metadata.ping(),
    storage: () => storage.list(''),
  });

  const app = await buildApp({
    logger,
    access,
    sessions,
    oidc,
    blobs,
    uploads,
    manifests,
    tags,
    projects,
    repositories: repositoryCatalog,
    artifacts,
    labels,
    search,
    members,
    robots,
    health,
    info: { version: VERSION, storageDriver: storage.name, externalUrl: config.externalUrl },
    config: {
      service: config.auth.service,
      externalUrl: config.externalUrl,
      manifestMaxBytes: config.limits.manifestMaxBytes,
      chunkMinLength: config.uploads.chunkMinLength,
    },
  });

  return {
    config,
    logger,
    metadata,
    storage,
    users,
    projects,
    access,
    sessions,
    uploads,
    app,
    async close() {
      await app.close();
      await storage.close?.();
      await metadata.close();
    },
  };
}
