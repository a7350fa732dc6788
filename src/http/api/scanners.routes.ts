import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest, unauthorized } from '../../domain/errors.js';
import { type Action, projectResource, systemResource } from '../../domain/permission.js';
import { checkConditions, type Condition, parseQuery } from '../../domain/query.js';
import type { Project } from '../../domain/records.js';
import type { AdapterMetadata } from '../../ports/external-scanner.js';
import type { NameMatch } from '../../ports/catalog-repos.js';
import type { ScannerFilter, ScannerRegistrationRecord, ScannerSort } from '../../ports/scanner-registry-repo.js';
import type { ProjectService } from '../../services/project.service.js';
import type { ScannerRegistryService, ScannerView } from '../../services/scanner-registry.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';
import { byId } from './projects.routes.js';

const TAGS = ['scanner'];

const RegistrationReq = T.Object(
  {
    name: T.String({ maxLength: 255 }),
    description: T.Optional(T.String({ maxLength: 1024 })),
    url: T.String({ maxLength: 2048 }),
    auth: T.Optional(T.String({ maxLength: 64 })),
    access_credential: T.Optional(T.String({ maxLength: 8192, writeOnly: true })),
    skip_certVerify: T.Optional(T.Boolean()),
    use_internal_addr: T.Optional(T.Boolean()),
    disabled: T.Optional(T.Boolean()),
  },
  { description: "Harbor's ScannerRegistrationReq" },
);

// Harbor's PUT body is a ScannerRegistrationReq, but clients send back what GET gave them
const RegistrationUpdate = T.Object({
  ...RegistrationReq.properties,
  uuid: T.Optional(T.String()),
  is_default: T.Optional(T.Boolean()),
  create_time: T.Optional(T.String()),
  update_time: T.Optional(T.String()),
  adapter: T.Optional(T.String()),
  vendor: T.Optional(T.String()),
  version: T.Optional(T.String()),
  health: T.Optional(T.String()),
  capabilities: T.Optional(T.Unknown()),
});

const Settings = T.Object(
  {
    name: T.Optional(T.String({ maxLength: 255 })),
    url: T.String({ maxLength: 2048 }),
    auth: T.Optional(T.String({ maxLength: 64 })),
    access_credential: T.Optional(T.String({ maxLength: 8192, writeOnly: true })),
  },
  { description: "Harbor's ScannerRegistrationSettings" },
);

const ScannerRegistration = T.Object(
  {
    uuid: T.String(),
    name: T.String(),
    description: T.String(),
    url: T.String(),
    disabled: T.Boolean(),
    is_default: T.Boolean(),
    auth: T.String({ description: 'Basic, Bearer, X-ScannerAdapter-API-Key or empty; the access credential is write-only and never shown' }),
    skip_certVerify: T.Boolean(),
    use_internal_addr: T.Boolean(),
    create_time: T.String({ format: 'date-time' }),
    update_time: T.String({ format: 'date-time' }),
    adapter: T.Optional(T.String()),
    vendor: T.Optional(T.String()),
    version: T.Optional(T.String()),
    health: T.Optional(T.String()),
    capabilities: T.Optional(T.Object({ support_vulnerability: T.Boolean(), support_sbom: T.Boolean() })),
  },
  { description: "Harbor's ScannerRegistration" },
);

const AdapterMetadataJson = T.Object(
  {
    scanner: T.Object({ name: T.String(), vendor: T.String(), version: T.String() }),
    capabilities: T.Array(
      T.Object({
        type: T.Optional(T.String()),
        consumes_mime_types: T.Array(T.String()),
        produces_mime_types: T.Array(T.String()),
        additional_attributes: T.Optional(T.Record(T.String(), T.Unknown())),
      }),
    ),
    properties: T.Optional(T.Record(T.String(), T.String())),
  },
  { description: "Harbor's ScannerAdapterMetadata" },
);

const IdParams = T.Object({ registration_id: T.String({ minLength: 1, maxLength: 64 }) });
const ProjectParams = T.Object({ project_name_or_id: T.String({ minLength: 1, maxLength: 255 }) });
const ListQuery = T.Object({
  ...PagingQuery,
  q: T.Optional(T.String({ maxLength: 1024 })),
  sort: T.Optional(T.String({ maxLength: 255 })),
  // Harbor's older list parameters: fuzzy name/description/url, exact ex_name/ex_url
  name: T.Optional(T.String({ maxLength: 255 })),
  description: T.Optional(T.String({ maxLength: 255 })),
  url: T.Optional(T.String({ maxLength: 2048 })),
  ex_name: T.Optional(T.String({ maxLength: 255 })),
  ex_url: T.Optional(T.String({ maxLength: 2048 })),
});
const IsDefault = T.Object({ is_default: T.Boolean() }, { description: "Harbor's IsDefault" });
const ProjectScanner = T.Object({ uuid: T.String({ minLength: 1, maxLength: 64 }) }, { description: "Harbor's ProjectScanner" });

const iso = (ms: number) => new Date(ms).toISOString();

function metadataJson(m: AdapterMetadata): Static<typeof AdapterMetadataJson> {
  return { scanner: m.scanner, capabilities: m.capabilities, ...(m.properties ? { properties: m.properties } : {}) };
}

export function registrationJson(r: ScannerRegistrationRecord, v?: Omit<ScannerView, 'record'>): Static<typeof ScannerRegistration> {
  const m = v?.metadata;
  const kinds = new Set(m?.capabilities.map((c) => c.type ?? 'vulnerability'));
  return {
    uuid: r.uuid,
    name: r.name,
    description: r.description,
    url: r.url,
    disabled: r.disabled,
    is_default: r.isDefault,
    auth: r.auth,
    skip_certVerify: r.skipCertVerify,
    use_internal_addr: r.useInternalAddr,
    create_time: iso(r.createdAt),
    update_time: iso(r.updatedAt),
    ...(m ? { adapter: m.scanner.name, vendor: m.scanner.vendor, version: m.scanner.version } : {}),
    ...(v?.health ? { health: v.health } : {}),
    ...(m ? { capabilities: { support_vulnerability: kinds.has('vulnerability'), support_sbom: kinds.has('sbom') } } : {}),
  };
}

const SORTS: Record<string, ScannerSort['by']> = { name: 'name', url: 'url', create_time: 'createdAt', creation_time: 'createdAt', id: 'id' };

/** Harbor's q for scanners (name, description, url; exact or fuzzy) and its older parameters. */
export function scannerQuery(query: Static<typeof ListQuery>): { filter: ScannerFilter; sort?: ScannerSort } {
  const conds = parseQuery(query.q);
  checkConditions(conds, { name: ['exact', 'fuzzy'], description: ['exact', 'fuzzy'], url: ['exact', 'fuzzy'] });
  const match = (c: Condition | undefined): NameMatch | undefined =>
    c?.op === 'exact' ? { exact: [c.value] } : c?.op === 'fuzzy' ? { fuzzy: c.value } : undefined;
  const filter: ScannerFilter = {};
  const set = (k: keyof ScannerFilter, m: NameMatch | undefined) => {
    if (m) filter[k] = m;
  };
  set('name', match(conds.get('name')));
  set('description', match(conds.get('description')));
  set('url', match(conds.get('url')));
  if (query.name) filter.name = { fuzzy: query.name };
  if (query.description) filter.description = { fuzzy: query.description };
  if (query.url) filter.url = { fuzzy: query.url };
  if (query.ex_name) filter.name = { exact: [query.ex_name] };
  if (query.ex_url) filter.url = { exact: [query.ex_url] };
  let sort: ScannerSort | undefined;
  if (query.sort) {
    const desc = query.sort.startsWith('-');
    const by = SORTS[desc ? query.sort.slice(1) : query.sort];
    if (!by) throw badRequest(`sort by ${query.sort.slice(0, 64)} is not supported: use ${Object.keys(SORTS).join(', ')} (- for descending)`);
    sort = { by, desc };
  }
  return { filter, ...(sort ? { sort } : {}) };
}

/**
 * Harbor's scanner registrations (/scanners) and the scanner of a project
 * (/projects/{p}/scanner). Reading follows Harbor's matrix (every signed-in user may list);
 * writes, and pings (Berth then calls the URL given), need a system administrator.
 */
export async function scannerRoutes(app: FastifyInstance, deps: { scanners: ScannerRegistryService; projects: ProjectService; auth: AuthOptions }): Promise<void> {
  const { scanners, projects, auth } = deps;
  const system = (req: FastifyRequest, action: Action) => {
    if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
    return requireApi(req, auth, action, systemResource('scanner'));
  };
  async function project(req: FastifyRequest, key: string, action: Action): Promise<Project> {
    if (req.principal.kind === 'anonymous') throw unauthorized('UnAuthorized');
    const p = await projects.find(key, byId(req, key));
    await requireApi(req, auth, action, projectResource(p.name, 'scanner'));
    return p;
  }

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/scanners',
    { schema: { tags: TAGS, operationId: 'listScanners', querystring: ListQuery, response: { 200: T.Array(ScannerRegistration) } } },
    async (req, reply) => {
      await system(req, 'list');
      const w = pageWindow(req.query);
      const { filter, sort } = scannerQuery(req.query);
      const page = await scanners.list(filter, { offset: w.offset, limit: w.size, ...(sort ? { sort } : {}) });
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map((r) => registrationJson(r));
    },
  );

  app.post<{ Body: Static<typeof RegistrationReq> }>(
    '/api/v2.0/scanners',
    { schema: { tags: TAGS, operationId: 'createScanner', body: RegistrationReq } },
    async (req, reply) => {
      await system(req, 'create');
      const r = await scanners.create(req.body);
      return reply.code(201).header('location', `/api/v2.0/scanners/${r.uuid}`).send();
    },
  );

  app.post<{ Body: Static<typeof Settings> }>(
    '/api/v2.0/scanners/ping',
    { schema: { tags: TAGS, operationId: 'pingScanner', body: Settings } },
    async (req, reply) => {
      await system(req, 'create');
      await scanners.ping(req.body);
      return reply.code(200).send();
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v2.0/scanners/:registration_id',
    { schema: { tags: TAGS, operationId: 'getScanner', params: IdParams, response: { 200: ScannerRegistration } } },
    async (req) => {
      await system(req, 'read');
      const v = await scanners.view(req.params.registration_id);
      return registrationJson(v.record, v);
    },
  );

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof RegistrationUpdate> }>(
    '/api/v2.0/scanners/:registration_id',
    { schema: { tags: TAGS, operationId: 'updateScanner', params: IdParams, body: RegistrationUpdate } },
    async (req, reply) => {
      await system(req, 'update');
      const b = req.body;
      await scanners.update(req.params.registration_id, {
        name: b.name,
        url: b.url,
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.auth !== undefined ? { auth: b.auth } : {}),
        ...(b.access_credential !== undefined ? { access_credential: b.access_credential } : {}),
        ...(b.skip_certVerify !== undefined ? { skip_certVerify: b.skip_certVerify } : {}),
        ...(b.use_internal_addr !== undefined ? { use_internal_addr: b.use_internal_addr } : {}),
        ...(b.disabled !== undefined ? { disabled: b.disabled } : {}),
      });
      return reply.code(200).send();
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof IsDefault> }>(
    '/api/v2.0/scanners/:registration_id',
    { schema: { tags: TAGS, operationId: 'setScannerAsDefault', params: IdParams, body: IsDefault } },
    async (req, reply) => {
      await system(req, 'update');
      await scanners.setDefault(req.params.registration_id, req.body.is_default);
      return reply.code(200).send();
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v2.0/scanners/:registration_id',
    { schema: { tags: TAGS, operationId: 'deleteScanner', params: IdParams, response: { 200: ScannerRegistration } } },
    async (req) => {
      await system(req, 'delete');
      return registrationJson(await scanners.delete(req.params.registration_id));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v2.0/scanners/:registration_id/metadata',
    { schema: { tags: TAGS, operationId: 'getScannerMetadata', params: IdParams, response: { 200: AdapterMetadataJson } } },
    async (req) => {
      await system(req, 'read');
      return metadataJson(await scanners.adapterMetadata(req.params.registration_id));
    },
  );

  app.get<{ Params: Static<typeof ProjectParams> }>(
    '/api/v2.0/projects/:project_name_or_id/scanner',
    { schema: { tags: ['project'], operationId: 'getScannerOfProject', params: ProjectParams, response: { 200: ScannerRegistration } } },
    async (req) => {
      const p = await project(req, req.params.project_name_or_id, 'read');
      const v = await scanners.projectScanner(p.id);
      return registrationJson(v.record, v);
    },
  );

  app.put<{ Params: Static<typeof ProjectParams>; Body: Static<typeof ProjectScanner> }>(
    '/api/v2.0/projects/:project_name_or_id/scanner',
    { schema: { tags: ['project'], operationId: 'setScannerOfProject', params: ProjectParams, body: ProjectScanner } },
    async (req, reply) => {
      const p = await project(req, req.params.project_name_or_id, 'create');
      await scanners.setProjectScanner(p.id, req.body.uuid);
      return reply.code(200).send();
    },
  );

  app.get<{ Params: Static<typeof ProjectParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v2.0/projects/:project_name_or_id/scanner/candidates',
    { schema: { tags: ['project'], operationId: 'listScannerCandidatesOfProject', params: ProjectParams, querystring: ListQuery, response: { 200: T.Array(ScannerRegistration) } } },
    async (req, reply) => {
      await project(req, req.params.project_name_or_id, 'create');
      const w = pageWindow(req.query);
      const { filter, sort } = scannerQuery(req.query);
      const page = await scanners.list(filter, { offset: w.offset, limit: w.size, ...(sort ? { sort } : {}) });
      setPageHeaders(req, reply, page.total, w.page, w.size);
      return page.items.map((r) => registrationJson(r));
    },
  );
}
