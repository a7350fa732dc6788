import type { FastifyInstance } from 'fastify';
import { type Static, Type as T } from '@sinclair/typebox';
import type { PackageHit, PackageSearchService } from '../../services/package-search.service.js';
import { PagingQuery, pageWindow, setPageHeaders } from './paging.js';

const PackagesQuery = T.Object({
  purl: T.String({ minLength: 5, maxLength: 2048, description: 'package URL without or with a version: pkg:deb/debian/openssl, pkg:npm/%40babel/core' }),
  version: T.Optional(T.String({ maxLength: 1024, description: 'constraint in the ecosystem order: <X, <=X, >X, >=X, =X, !=X, or bounds joined by "," (>=1.0,<2.0)' })),
  project_name: T.Optional(T.String({ minLength: 1, maxLength: 255 })),
  ...PagingQuery,
});

export function packageHitJson(h: PackageHit) {
  return {
    project_id: h.projectId,
    project_name: h.projectName,
    repository_id: h.repositoryId,
    repository_name: h.repositoryName,
    digest: h.digest,
    media_type: h.mediaType,
    artifact_type: h.artifactType ?? h.mediaType,
    tags: h.tags,
    push_time: new Date(h.pushedAt).toISOString(),
    packages: h.packages.map((p) => ({ purl: p.purl, version: p.version, layer_digest: p.layerDigest, path: p.path })),
  };
}

/**
 * Berth's inventory search: the artifacts (among those the caller may read) that contain a
 * package in a version range, compared in the package ecosystem's own version order.
 */
export async function packageRoutes(app: FastifyInstance, deps: { packages: PackageSearchService }): Promise<void> {
  app.get<{ Querystring: Static<typeof PackagesQuery> }>(
    '/api/v2.0/packages',
    { schema: { querystring: PackagesQuery, operationId: 'searchPackages', tags: ['packages'] } },
    async (req, reply) => {
      const w = pageWindow(req.query);
      const r = await deps.packages.search(req.principal, {
        purl: req.query.purl,
        ...(req.query.version !== undefined ? { version: req.query.version } : {}),
        ...(req.query.project_name !== undefined ? { projectName: req.query.project_name } : {}),
        offset: w.offset,
        limit: w.size,
      });
      setPageHeaders(req, reply, r.total, w.page, w.size);
      return r.items.map(packageHitJson);
    },
  );
}
