import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { DOCS_PAGE } from './openapi-page.js';

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI: the operation's group (Harbor's swagger tags where the route is Harbor's) */
    tags?: readonly string[];
    summary?: string;
    description?: string;
    operationId?: string;
    /** left out of the OpenAPI document */
    hide?: boolean;
  }
}

interface CollectedRoute {
  method: string;
  url: string;
  schema: FastifySchema | undefined;
  /** declared together with its GET (one route, both methods): not Fastify's automatic HEAD */
  headWithGet?: boolean;
}

type Json = Record<string, unknown>;

/**
 * Collects every route as it is declared (Fastify's onRoute hook), so that the OpenAPI document
 * is generated from the routes' own TypeBox schemas and a route added anywhere shows up without
 * an edit here. Install it on the root instance before any route is registered.
 */
export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];

  install(app: FastifyInstance): void {
    app.addHook('onRoute', (r: RouteOptions) => {
      const methods = (Array.isArray(r.method) ? r.method : [r.method]).map((m) => String(m).toUpperCase());
      const both = methods.includes('GET') && methods.includes('HEAD');
      for (const method of methods) this.routes.push({ method, url: r.url, schema: r.schema, ...(both ? { headWithGet: true } : {}) });
    });
  }

  /** The OpenAPI 3.1 document; deterministic (sorted) so that the committed copy can be diffed. */
  document(info: { version: string }): Json {
    const paths: Record<string, Record<string, Json>> = {};
    const getSchemas = new Map(this.routes.filter((r) => r.method === 'GET').map((r) => [r.url, r.schema]));
    for (const r of this.routes) {
      if (r.schema?.hide || r.method === 'OPTIONS') continue;
      // Fastify adds a HEAD for every GET (same schema object): document only HEADs of their own
      if (r.method === 'HEAD' && !r.headWithGet && getSchemas.has(r.url) && getSchemas.get(r.url) === r.schema) continue;
      const { path, pathParams } = openApiPath(r.url);
      const op = operation(r, path, pathParams);
      (paths[path] ??= {})[r.method.toLowerCase()] = op;
    }
    const sortedPaths: Record<string, Record<string, Json>> = {};
    const ids = new Set<string>();
    for (const p of Object.keys(paths).sort()) {
      const ops = paths[p]!;
      sortedPaths[p] = Object.fromEntries(METHOD_ORDER.filter((m) => ops[m]).map((m) => [m, ops[m]!]));
      // OpenAPI: operationIds are unique
      for (const op of Object.values(sortedPaths[p])) {
        let id = String(op['operationId']);
        for (let n = 2; ids.has(id); n++) id = `${op['operationId']}${n}`;
        ids.add(id);
        op['operationId'] = id;
      }
    }
    return {
      openapi: '3.1.0',
      info: {
        title: 'Berth API',
        version: info.version,
        description:
          "Berth's management API: Harbor's /api/v2.0 paths and JSON shapes where Harbor has them (errors are {\"errors\":[{\"code\",\"message\"}]}), " +
          "Berth's additions under the same prefix, the Docker token service and the OCI Distribution API (/v2, see the distribution spec). " +
          'A Harbor operation Berth does not implement answers 501 NOT_IMPLEMENTED.',
      },
      security: [{ basic: [] }, { bearer: [] }, {}],
      paths: sortedPaths,
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer', description: 'a token from /service/token' },
        },
        schemas: {
          Errors: {
            type: 'object',
            properties: {
              errors: {
                type: 'array',
                items: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] },
              },
            },
          },
        },
      },
    };
  }
}

const METHOD_ORDER = ['get', 'head', 'post', 'put', 'patch', 'delete'];

/** `/a/:b/c/*` → `/a/{b}/c/{path}`; a Fastify regex constraint `:id(^\d+)` is dropped. */
function openApiPath(url: string): { path: string; pathParams: string[] } {
  const pathParams: string[] = [];
  const path = url
    .split('/')
    .map((seg) => {
      if (seg === '*') {
        pathParams.push('path');
        return '{path}';
      }
      const m = /^:([A-Za-z0-9_]+)/.exec(seg);
      if (!m) return seg;
      pathParams.push(m[1]!);
      return `{${m[1]}}`;
    })
    .join('/');
  return { path, pathParams };
}

/** A schema as plain JSON: TypeBox's symbol keys go, the JSON Schema stays. */
function plain(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema ?? {})) as Json;
}

function objectProperties(schema: unknown): { properties: Record<string, Json>; required: Set<string> } {
  const s = plain(schema);
  return { properties: (s['properties'] as Record<string, Json> | undefined) ?? {}, required: new Set((s['required'] as string[] | undefined) ?? []) };
}

function operation(r: CollectedRoute, path: string, pathParams: string[]): Json {
  const schema = r.schema ?? {};
  const isApi = path.startsWith('/api/');
  const parameters: Json[] = [];
  const params = objectProperties(schema.params);
  for (const name of pathParams) {
    const p = params.properties[name] ?? { type: 'string' };
    parameters.push({ name, in: 'path', required: true, ...describe(p), schema: strip(p) });
  }
  for (const [where, src] of [
    ['query', schema.querystring],
    ['header', schema.headers],
  ] as const) {
    const { properties, required } = objectProperties(src);
    for (const name of Object.keys(properties).sort()) {
      const p = properties[name]!;
      parameters.push({ name, in: where, required: required.has(name), ...describe(p), schema: strip(p) });
    }
  }
  const responses: Record<string, Json> = {};
  const declared = (schema.response ?? {}) as Record<string, unknown>;
  for (const code of Object.keys(declared).sort()) {
    const s = plain(declared[code]);
    responses[code] = { description: typeof s['description'] === 'string' ? s['description'] : 'OK', content: { 'application/json': { schema: s } } };
  }
  if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
  if (isApi) responses['default'] = { description: "Harbor's error body", content: { 'application/json': { schema: { $ref: '#/components/schemas/Errors' } } } };
  const tags = schema.tags ? [...schema.tags] : [defaultTag(path)];
  return {
    operationId: schema.operationId ?? operationId(r.method, path),
    tags,
    ...(schema.summary ? { summary: schema.summary } : {}),
    ...(schema.description ? { description: schema.description } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(schema.body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(schema.body) } } } } : {}),
    responses,
  };
}

function describe(p: Json): Json {
  return typeof p['description'] === 'string' ? { description: p['description'] } : {};
}

function strip(p: Json): Json {
  const { description: _d, ...rest } = p;
  return rest;
}

function defaultTag(path: string): string {
  if (path.startsWith('/v2')) return 'distribution';
  if (path.startsWith('/service/')) return 'token';
  const seg = path.replace(/^\/api\/v2\.0\//, '').split('/')[0] ?? '';
  return seg.replace(/[{}]/g, '') || 'berth';
}

function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v2\.0/, '')
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase()));
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}

/** GET /api/v2.0/openapi.json and the browsable page at /api/v2.0/docs (self-contained, nothing fetched from elsewhere). */
export async function openApiRoutes(app: FastifyInstance, collector: OpenApiCollector, info: { version: string }): Promise<void> {
  let cached: string | undefined;
  app.get('/api/v2.0/openapi.json', { schema: { tags: ['berth'], summary: 'This OpenAPI 3.1 document' } }, async (_req, reply) => {
    // routes are all declared once the server is ready; the document never changes after
    cached ??= `${JSON.stringify(collector.document(info), null, 2)}\n`;
    return reply.header('content-type', 'application/json; charset=utf-8').send(cached);
  });
  app.get('/api/v2.0/docs', { schema: { tags: ['berth'], summary: 'A browsable page of the OpenAPI document' } }, async (_req, reply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'").send(DOCS_PAGE),
  );
}
