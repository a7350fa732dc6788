import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { badRequest } from '../../domain/errors.js';
import { projectResource } from '../../domain/permission.js';
import type { ArtifactService } from '../../services/artifact.service.js';
import { repositoryNameOf } from '../../services/repository.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { accessoryJson } from './catalog-json.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';
import { RepositoryParams } from './repositories.routes.js';

const BASE = '/api/v2.0/projects/:project_name/repositories/:repository_name/artifacts/:reference';
const ArtifactParams = T.Object({ ...RepositoryParams.properties, reference: T.String({ minLength: 1, maxLength: 200 }) });
const AdditionParams = T.Object({ ...ArtifactParams.properties, addition: T.String({ minLength: 1, maxLength: 64 }) });
const AccessoryQuery = T.Object({ ...PagingQuery, q: T.Optional(T.String({ maxLength: 1024 })), sort: T.Optional(T.String({ maxLength: 64 })) });

/** Helm chart additions: files of the chart's tarball, and its dependencies. */
const CHART_ADDITIONS = new Set(['values.yaml', 'readme.md', 'dependencies'] as const);
const isChartAddition = (a: string): a is 'values.yaml' | 'readme.md' | 'dependencies' => (CHART_ADDITIONS as Set<string>).has(a);

/** Harbor's artifact additions (build_history) and accessory listing. */
export async function artifactExtraRoutes(app: FastifyInstance, deps: { artifacts: ArtifactService; auth: AuthOptions }): Promise<void> {
  const { artifacts, auth } = deps;

  app.get<{ Params: Static<typeof AdditionParams> }>(
    `${BASE}/additions/:addition`,
    {
      schema: {
        tags: ['artifact'],
        operationId: 'getAddition',
        summary: 'An addition of the artifact: build_history (images), values.yaml, readme.md, dependencies (Helm charts)',
        params: AdditionParams,
      },
    },
    async (req, reply) => {
      await requireApi(req, auth, 'read', projectResource(req.params.project_name, 'artifact-addition'));
      const name = repositoryNameOf(req.params.project_name, req.params.repository_name);
      const addition = req.params.addition.toLowerCase();
      if (addition === 'build_history') return artifacts.buildHistory(name, req.params.reference);
      if (isChartAddition(addition)) {
        const a = await artifacts.chartAddition(name, req.params.reference, addition);
        return reply.header('content-type', a.contentType).send(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      }
      throw badRequest(`unknown addition ${JSON.stringify(req.params.addition.slice(0, 64))}: build_history, vulnerabilities, sbom, values.yaml, readme.md or dependencies`);
    },
  );

  app.get<{ Params: Static<typeof ArtifactParams>; Querystring: Static<typeof AccessoryQuery> }>(
    `${BASE}/accessories`,
    { schema: { tags: ['artifact'], operationId: 'listAccessories', summary: 'The accessories of the artifact (signatures, SBOMs and other referrers)', params: ArtifactParams, querystring: AccessoryQuery } },
    async (req, reply) => {
      await requireApi(req, auth, 'list', projectResource(req.params.project_name, 'accessory'));
      const name = repositoryNameOf(req.params.project_name, req.params.repository_name);
      const view = await artifacts.get(name, req.params.reference, {
        withTag: false,
        withLabel: false,
        withAccessory: true,
        withSignature: false,
        withImmutableStatus: false,
      });
      // Harbor's q on accessories: type=<type>
      const type = /^type=([^,]+)$/.exec(req.query.q ?? '')?.[1];
      if (req.query.q && type === undefined) throw badRequest('q on accessories takes type=<accessory type>');
      const all = (view.accessories ?? []).filter((a) => type === undefined || a.type === type);
      const w = pageWindow(req.query);
      setPageHeaders(req, reply, all.length, w.page, w.size);
      return all.slice(w.offset, w.offset + w.size).map(accessoryJson);
    },
  );
}
