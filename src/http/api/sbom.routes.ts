import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import { projectResource } from '../../domain/permission.js';
import { repositoryNameOf } from '../../services/repository.service.js';
import { parseSbomFormat, type SbomService } from '../../services/sbom.service.js';
import { type AuthOptions, requireApi } from '../auth.js';
import { RepositoryParams } from './repositories.routes.js';

const Params = T.Object({ ...RepositoryParams.properties, reference: T.String({ minLength: 1, maxLength: 200 }) });
const Query = T.Object({
  format: T.Optional(T.String({ maxLength: 20, description: 'Berth: spdx (the default, as Harbor serves) or cyclonedx' })),
});

/**
 * Harbor's SBOM addition: the SBOM document of an artifact. Harbor asks it of the SBOM
 * accessory itself; Berth also answers it for the artifact the SBOM describes, and `?format=`
 * picks the SPDX or the CycloneDX document.
 */
export async function sbomRoutes(app: FastifyInstance, deps: { sbom: SbomService; auth: AuthOptions }): Promise<void> {
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/api/v2.0/projects/:project_name/repositories/:repository_name/artifacts/:reference/additions/sbom',
    { schema: { params: Params, querystring: Query, operationId: 'getSbomAddition', tags: ['artifact'] } },
    async (req, reply) => {
      // Harbor's GetAddition asks the same right for every addition, its SBOM included
      await requireApi(req, deps.auth, 'read', projectResource(req.params.project_name, 'artifact-addition'));
      const doc = await deps.sbom.document(repositoryNameOf(req.params.project_name, req.params.repository_name), req.params.reference, parseSbomFormat(req.query.format));
      return reply.header('content-type', doc.mediaType).header('content-length', String(doc.size)).header('docker-content-digest', doc.digest).send(doc.body);
    },
  );
}
