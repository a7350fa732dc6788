import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { AccessService } from '../services/access.service.js';
import type { AuditService } from '../services/audit.service.js';
import type { BlobUploadService } from '../services/blob-upload.service.js';
import type { BlobService } from '../services/blob.service.js';
import type { ConfigService } from '../services/config.service.js';
import type { HealthService } from '../services/health.service.js';
import type { LdapService } from '../services/ldap.service.js';
import type { ManifestService } from '../services/manifest.service.js';
import type { OidcService } from '../services/oidc.service.js';
import type { MemberService } from '../services/member.service.js';
import type { RobotService } from '../services/robot.service.js';
import type { SessionService } from '../services/session.service.js';
import type { ProjectService } from '../services/project.service.js';
import type { CveAllowlistService } from '../services/cve-allowlist.service.js';
import { cveAllowlistRoutes } from './api/cve-allowlist.routes.js';
import type { TagService } from '../services/tag.service.js';
import type { UiLoginService } from '../services/ui-login.service.js';
import type { UserService } from '../services/user.service.js';
import type { UserGroupService } from '../services/user-group.service.js';
import { adapterRoutes } from './adapter/adapter.routes.js';
import { auditRoutes } from './api/audit.routes.js';
import { scannerRoutes } from './api/scanners.routes.js';
import type { AdapterScanService } from '../services/adapter-scan.service.js';
import type { ScannerRegistryService } from '../services/scanner-registry.service.js';
import { scanRoutes } from './api/scan.routes.js';
import type { ScanService } from '../services/scan.service.js';
import type { ScanAllService } from '../services/scan-all.service.js';
import type { SecurityHubService } from '../services/security-hub.service.js';
import type { CveExportService } from '../services/cve-export.service.js';
import { vulndbRoutes } from './api/vulndb.routes.js';
import type { VulndbService } from '../services/vulndb.service.js';
import { configRoutes } from './api/config.routes.js';
import { replyNoRoute } from './api/harbor-unimplemented.js';
import { ldapRoutes } from './api/ldap.routes.js';
import { memberRoutes } from './api/members.routes.js';
import { oidcRoutes, oidcUserMetaJson } from './api/oidc.routes.js';
import { projectExtraRoutes } from './api/project-extras.routes.js';
import { projectRoutes } from './api/projects.routes.js';
import { artifactExtraRoutes } from './api/artifact-extras.routes.js';
import { artifactRoutes } from './api/artifacts.routes.js';
import { labelRoutes } from './api/labels.routes.js';
import { repositoryRoutes } from './api/repositories.routes.js';
import { canonicalRepositoryUrl } from './api/repository-path.js';
import { searchRoutes } from './api/search.routes.js';
import { packageRoutes } from './api/packages.routes.js';
import { securityHubRoutes } from './api/security-hub.routes.js';
import { cveExportRoutes } from './api/cve-export.routes.js';
import { sbomRoutes } from './api/sbom.routes.js';
import type { PackageSearchService } from '../services/package-search.service.js';
import type { SbomService } from '../services/sbom.service.js';
import { statisticsRoutes } from './api/statistics.routes.js';
import type { ArtifactService } from '../services/artifact.service.js';
import type { LabelService } from '../services/label.service.js';
import type { RepositoryService } from '../services/repository.service.js';
import type { SearchService } from '../services/search.service.js';
import { robotRoutes } from './api/robots.routes.js';
import { sessionRoutes } from './api/session.routes.js';
import { type SystemInfo, systemRoutes } from './api/system.routes.js';
import { userRoutes } from './api/users.routes.js';
import { userGroupRoutes } from './api/usergroups.routes.js';
import { type AuthOptions, authenticate, CSRF_HEADER } from './auth.js';
import { replyError } from './errors.js';
import { metricsPlugin } from './metrics.js';
import { OpenApiCollector, openApiRoutes } from './openapi.js';
import { tokenRoutes } from './token.routes.js';
import { v2Routes } from './v2/v2.routes.js';

export interface AppDeps {
  logger: Logger;
  access: AccessService;
  audit: AuditService;
  sessions: SessionService;
  uiLogin: UiLoginService;
  users: UserService;
  settings: ConfigService;
  oidc: OidcService;
  blobs: BlobService;
  uploads: BlobUploadService;
  manifests: ManifestService;
  tags: TagService;
  projects: ProjectService;
  allowlists: CveAllowlistService;
  repositories: RepositoryService;
  artifacts: ArtifactService;
  labels: LabelService;
  search: SearchService;
  packages: PackageSearchService;
  sbom: SbomService;
  members: MemberService;
  robots: RobotService;
  ldap: LdapService;
  userGroups: UserGroupService;
  health: HealthService;
  scans: ScanService;
  scanAll: ScanAllService;
  securityHub: SecurityHubService;
  cveExports: CveExportService;
  /** the vulnerability database (GET /api/v2.0/vulndb) */
  vulndb?: VulndbService;
  scanners: ScannerRegistryService;
  /** Berth's scanner served as a Harbor scanner adapter (/api/v1), when enabled */
  scannerAdapter?: { scans: AdapterScanService; apiKey: string } | undefined;
  info: SystemInfo;
  config: {
    service: string;
    externalUrl: string | undefined;
    manifestMaxBytes: number;
    chunkMinLength: number;
  };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Fastify's own router must not reinterpret /v2 paths: they go to one tested parser
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 1000 },
    // Harbor repository names with a plain `/` are served as if sent encoded
    rewriteUrl: (req) => canonicalRepositoryUrl(req.url ?? '/'),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // unknown keys are an error (Harbor's own fields are all declared), never silently dropped
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true } },
  });
  const auth: AuthOptions = { access: deps.access, sessions: deps.sessions, service: deps.config.service, externalUrl: deps.config.externalUrl };
  // before any route: every route declared from here on is in the OpenAPI document
  const openapi = new OpenApiCollector();
  openapi.install(app);

  app.decorateRequest('principal', undefined as never);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // one access-log line per request; never headers (credentials), never bodies
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, url: req.url.split('?')[0], op: req.operation, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });
  // Node closes idle keep-alive connections once, when close() starts: one whose request (a
  // long blob download) ends later would hold shutdown until its keep-alive timeout
  let idleSweep: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    idleSweep = setInterval(() => app.server.closeIdleConnections(), 200);
    idleSweep.unref();
  });
  app.addHook('onClose', async () => clearInterval(idleSweep));
  app.setErrorHandler((err, req, reply) => replyError(err, req, reply));
  app.setNotFoundHandler((req, reply) => replyNoRoute(req, reply));

  metricsPlugin(app);

  await app.register(async (v2) =>
    v2Routes(v2, {
      auth,
      blobs: deps.blobs,
      uploads: deps.uploads,
      manifests: deps.manifests,
      tags: deps.tags,
      manifestMaxBytes: deps.config.manifestMaxBytes,
      chunkMinLength: deps.config.chunkMinLength,
    }),
  );
  await app.register(async (t) => tokenRoutes(t, auth));
  await app.register(async (c) => sessionRoutes(c, { login: deps.uiLogin, externalUrl: deps.config.externalUrl }));
  await app.register(async (api) => {
    api.addHook('onRequest', async (req, reply) => {
      req.principal = await authenticate(req, auth);
      if (req.session) reply.header(CSRF_HEADER, req.session.csrfToken);
    });
    await systemRoutes(api, { health: deps.health, info: deps.info, settings: deps.settings, auth });
    await userRoutes(api, {
      users: deps.users,
      auth,
      oidcMeta: async (id, withSecret) => {
        const m = await deps.oidc.userMeta(id, withSecret);
        return m && oidcUserMetaJson(m);
      },
    });
    await configRoutes(api, { config: deps.settings, auth });
    await projectRoutes(api, { projects: deps.projects, auth, allowlists: deps.allowlists });
    await cveAllowlistRoutes(api, { allowlists: deps.allowlists, auth });
    await projectExtraRoutes(api, { projects: deps.projects, auth });
    await repositoryRoutes(api, { repositories: deps.repositories, auth });
    await artifactRoutes(api, { artifacts: deps.artifacts, auth });
    await artifactExtraRoutes(api, { artifacts: deps.artifacts, auth });
    await scanRoutes(api, { scans: deps.scans, scanAll: deps.scanAll, auth });
    await labelRoutes(api, { labels: deps.labels, auth });
    await searchRoutes(api, { search: deps.search });
    await packageRoutes(api, { packages: deps.packages });
    await securityHubRoutes(api, { securityHub: deps.securityHub, auth });
    await cveExportRoutes(api, { cveExports: deps.cveExports });
    await sbomRoutes(api, { sbom: deps.sbom, auth });
    await statisticsRoutes(api, { search: deps.search });
    await auditRoutes(api, { audit: deps.audit, projects: deps.projects, auth });
    await oidcRoutes(api, { oidc: deps.oidc, auth });
    await memberRoutes(api, { members: deps.members, projects: deps.projects, auth });
    await robotRoutes(api, { robots: deps.robots, auth });
    await ldapRoutes(api, { ldap: deps.ldap, auth });
    await userGroupRoutes(api, { userGroups: deps.userGroups, auth });
    if (deps.vulndb) await vulndbRoutes(api, { vulndb: deps.vulndb });
    await scannerRoutes(api, { scanners: deps.scanners, projects: deps.projects, auth });
  });
  const adapter = deps.scannerAdapter;
  if (adapter) await app.register(async (a) => adapterRoutes(a, adapter));
  await openApiRoutes(app, openapi, { version: deps.info.version });
  return app;
}
