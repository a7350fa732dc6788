import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { badRequest, blobUploadInvalid, isRegistryError, payloadTooLarge, RegistryError, unauthorized, unsupported } from '../../domain/errors.js';
import { type Resource, repositoryResource, systemResource, TOKEN_ACTION } from '../../domain/permission.js';
import type { UploadSession } from '../../domain/records.js';
import { parseRepoName, type RepoName } from '../../domain/repo-name.js';
import type { BlobUploadService, ByteRange } from '../../services/blob-upload.service.js';
import type { Actor } from '../../services/audit.service.js';
import type { BlobService } from '../../services/blob.service.js';
import type { ManifestService } from '../../services/manifest.service.js';
import type { TagService } from '../../services/tag.service.js';
import { type AuthOptions, authenticate, challenge, requireV2 } from '../auth.js';
import { replyError } from '../errors.js';
import { parseV2Path, type V2Route } from './route-parser.js';

export interface V2Deps {
  auth: AuthOptions;
  blobs: BlobService;
  uploads: BlobUploadService;
  manifests: ManifestService;
  tags: TagService;
  manifestMaxBytes: number;
  chunkMinLength: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** the operation, for metrics and logs */
    operation?: string;
  }
}

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'] as const;

/** The OCI Distribution API. Bodies are streamed by the handlers, never parsed by Fastify. */
export async function v2Routes(app: FastifyInstance, deps: V2Deps): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.setErrorHandler((err, req, reply) => replyError(err, req, reply));
  const handler = (req: FastifyRequest, reply: FastifyReply) => handle(req, reply, deps);
  const schema = {
    tags: ['distribution'],
    summary: 'OCI Distribution Spec v1.1: /v2/<name>/manifests|blobs|blobs/uploads|tags/list|referrers/…, /v2/_catalog',
    description: 'Repository names contain "/"; every path below /v2 is parsed by one parser. Errors are the dist-spec\'s {"errors":[{"code","message","detail"}]}.',
  };
  app.route({ method: [...METHODS], url: '/v2', handler, exposeHeadRoute: false, schema: { ...schema, summary: 'OCI Distribution API version check' } });
  app.route({ method: [...METHODS], url: '/v2/*', handler, exposeHeadRoute: false, schema });
}

async function handle(req: FastifyRequest, reply: FastifyReply, deps: V2Deps): Promise<FastifyReply> {
  reply.header('docker-distribution-api-version', 'registry/2.0');
  const url = req.raw.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  try {
    req.principal = await authenticate(req, deps.auth);
  } catch (e) {
    reply.header('www-authenticate', challenge(req, deps.auth, undefined, 'invalid_token'));
    throw e;
  }
  const route = parseV2Path(path);
  if (!route) throw new RegistryError('NOT_FOUND', 'no such route in the distribution API', { path: path.slice(0, 300) });
  const method = req.method;
  switch (route.kind) {
    case 'base':
      req.operation = 'v2.base';
      if (req.principal.kind === 'anonymous') {
        reply.header('www-authenticate', challenge(req, deps.auth));
        throw unauthorized();
      }
      return reply.code(200).header('content-type', 'application/json').send('{}');
    case 'catalog':
      return catalog(req, reply, deps, query);
    case 'tags':
      return tagsList(req, reply, deps, route.name, query);
    case 'manifest':
      return manifest(req, reply, deps, route, method, query);
    case 'blob':
      return blob(req, reply, deps, route, method);
    case 'uploads':
      if (method !== 'POST') throw unsupported(`${method} is not supported on ${path}`);
      return startUpload(req, reply, deps, route.name, query);
    case 'upload':
      return upload(req, reply, deps, route, method, query);
    case 'referrers':
      return referrers(req, reply, deps, route, method, query);
  }
}

const repoResource = (name: RepoName): Resource => repositoryResource(name.value);

const actorOf = (req: FastifyRequest): Actor => ({ principal: req.principal, ip: req.ip });

/** A /v2 operation needs what its Docker token action stands for (pull, push, delete). */
async function allow(req: FastifyRequest, reply: FastifyReply, deps: V2Deps, tokenAction: 'pull' | 'push' | 'delete', name: RepoName): Promise<void> {
  const { resource, action } = TOKEN_ACTION[tokenAction]!;
  await requireV2(req, reply, deps.auth, action, { scope: 'project', project: name.project, resource, repository: name.value });
}

async function catalog(req: FastifyRequest, reply: FastifyReply, deps: V2Deps, query: URLSearchParams) {
  req.operation = 'v2.catalog';
  if (req.method !== 'GET') throw unsupported();
  await requireV2(req, reply, deps.auth, 'list', systemResource('catalog'));
  const { n, last } = paging(query);
  const page = await deps.tags.catalog(n, last);
  if (page.next !== undefined) reply.header('link', `</v2/_catalog?n=${n ?? page.items.length}&last=${encodeURIComponent(page.next)}>; rel="next"`);
  return reply.code(200).header('content-type', 'application/json').send({ repositories: page.items });
}

async function tagsList(req: FastifyRequest, reply: FastifyReply, deps: V2Deps, name: RepoName, query: URLSearchParams) {
  req.operation = 'v2.tags.list';
  if (req.method !== 'GET') throw unsupported();
  await allow(req, reply, deps, 'pull', name);
  const { n, last } = paging(query);
  const page = await deps.tags.list(name, n, last);
  if (page.next !== undefined) {
    reply.header('link', `</v2/${name.value}/tags/list?n=${n ?? page.items.length}&last=${encodeURIComponent(page.next)}>; rel="next"`);
  }
  return reply.code(200).header('content-type', 'application/json').send({ name: name.value, tags: page.items });
}

async function manifest(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: V2Deps,
  route: Extract<V2Route, { kind: 'manifest' }>,
  method: string,
  query: URLSearchParams,
) {
  const { name, reference } = route;
  switch (method) {
    case 'GET':
    case 'HEAD': {
      req.operation = method === 'GET' ? 'v2.manifest.get' : 'v2.manifest.head';
      await allow(req, reply, deps, 'pull', name);
      const accept = acceptList(req);
      const m = method === 'GET' ? await deps.manifests.get(name, reference, accept, actorOf(req)) : await deps.manifests.head(name, reference, accept, actorOf(req));
      reply
        .code(200)
        .header('content-type', m.mediaType)
        .header('docker-content-digest', m.digest)
        .header('etag', `"${m.digest}"`)
        .header('content-length', String(m.size));
      return method === 'GET' && 'content' in m ? reply.send(m.content) : reply.send();
    }
    case 'PUT': {
      req.operation = 'v2.manifest.put';
      await allow(req, reply, deps, 'push', name);
      const body = await readLimited(req.raw, deps.manifestMaxBytes, contentLength(req));
      const r = await deps.manifests.put(name, reference, body, req.headers['content-type'], query.getAll('tag'), actorOf(req));
      reply.code(201).header('location', `/v2/${name.value}/manifests/${r.digest}`).header('docker-content-digest', r.digest);
      if (r.subject) reply.header('oci-subject', r.subject);
      // dist-spec: one OCI-Tag header per tag that a push by digest with `?tag=` created
      if (r.tags.length) reply.header('oci-tag', r.tags);
      return reply.header('content-length', '0').send();
    }
    case 'DELETE':
      req.operation = 'v2.manifest.delete';
      await allow(req, reply, deps, 'delete', name);
      await deps.manifests.delete(name, reference, actorOf(req));
      return reply.code(202).header('content-length', '0').send();
    default:
      throw unsupported();
  }
}

async function blob(req: FastifyRequest, reply: FastifyReply, deps: V2Deps, route: Extract<V2Route, { kind: 'blob' }>, method: string) {
  const { name, digest } = route;
  switch (method) {
    case 'HEAD': {
      req.operation = 'v2.blob.head';
      await allow(req, reply, deps, 'pull', name);
      const b = await deps.blobs.stat(name, digest);
      return reply
        .code(200)
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(b.size))
        .header('docker-content-digest', b.digest)
        .header('accept-ranges', 'bytes')
        .header('etag', `"${b.digest}"`)
        .send();
    }
    case 'GET': {
      req.operation = 'v2.blob.get';
      await allow(req, reply, deps, 'pull', name);
      let c;
      try {
        c = await deps.blobs.open(name, digest, req.headers.range);
      } catch (e) {
        if (isRegistryError(e) && e.code === 'RANGE_NOT_SATISFIABLE') {
          const b = await deps.blobs.stat(name, digest);
          reply.header('content-range', `bytes */${b.size}`);
        }
        throw e;
      }
      reply.header('docker-content-digest', c.blob.digest);
      if (c.kind === 'redirect') return reply.code(307).header('location', c.url).header('content-length', '0').send();
      reply.header('content-type', 'application/octet-stream').header('accept-ranges', 'bytes').header('etag', `"${c.blob.digest}"`);
      if (c.range) {
        const len = c.range.end - c.range.start + 1;
        reply.code(206).header('content-range', `bytes ${c.range.start}-${c.range.end}/${c.blob.size}`).header('content-length', String(len));
      } else {
        reply.code(200).header('content-length', String(c.blob.size));
      }
      return reply.send(c.stream);
    }
    case 'DELETE':
      req.operation = 'v2.blob.delete';
      await allow(req, reply, deps, 'delete', name);
      await deps.blobs.delete(name, digest, actorOf(req));
      return reply.code(202).header('content-length', '0').send();
    default:
      throw unsupported();
  }
}

async function startUpload(req: FastifyRequest, reply: FastifyReply, deps: V2Deps, name: RepoName, query: URLSearchParams) {
  req.operation = 'v2.upload.start';
  await allow(req, reply, deps, 'push', name);
  const mount = query.get('mount') ?? undefined;
  const fromParam = query.get('from') ?? undefined;
  const digest = query.get('digest') ?? undefined;
  const digestAlgorithm = query.get('digest-algorithm') ?? undefined;
  const len = contentLength(req);
  let from: RepoName | undefined;
  if (mount !== undefined && fromParam !== undefined && fromParam !== '') from = parseRepoName(fromParam);
  const r = await deps.uploads.start(name, {
    ...(digest !== undefined ? { digest, body: req.raw } : {}),
    ...(len !== undefined ? { contentLength: len } : {}),
    ...(digestAlgorithm !== undefined ? { digestAlgorithm } : {}),
    ...(mount !== undefined ? { mount } : {}),
    ...(from ? { from } : {}),
    canPull: async (source) => deps.auth.access.mayMountFrom(req.principal, repoResource(parseRepoName(source))),
  });
  if (r.kind === 'blob') {
    return reply
      .code(201)
      .header('location', `/v2/${name.value}/blobs/${r.blob.digest}`)
      .header('docker-content-digest', r.blob.digest)
      .header('content-length', '0')
      .send();
  }
  if (deps.chunkMinLength > 0) reply.header('oci-chunk-min-length', String(deps.chunkMinLength));
  return sessionReply(reply, name, r.session, 202);
}

async function upload(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: V2Deps,
  route: Extract<V2Route, { kind: 'upload' }>,
  method: string,
  query: URLSearchParams,
) {
  const { name, uuid } = route;
  await allow(req, reply, deps, 'push', name);
  try {
    switch (method) {
      case 'GET':
        req.operation = 'v2.upload.status';
        return sessionReply(reply, name, await deps.uploads.status(name, uuid), 204);
      case 'PATCH': {
        req.operation = 'v2.upload.patch';
        const s = await deps.uploads.append(name, uuid, req.raw, contentRange(req), contentLength(req));
        return sessionReply(reply, name, s, 202);
      }
      case 'PUT': {
        req.operation = 'v2.upload.put';
        const b = await deps.uploads.complete(name, uuid, query.get('digest') ?? undefined, req.raw, contentRange(req), contentLength(req));
        return reply
          .code(201)
          .header('location', `/v2/${name.value}/blobs/${b.digest}`)
          .header('docker-content-digest', b.digest)
          .header('content-length', '0')
          .send();
      }
      case 'DELETE':
        req.operation = 'v2.upload.cancel';
        await deps.uploads.cancel(name, uuid);
        return reply.code(204).send();
      default:
        throw unsupported();
    }
  } catch (e) {
    // dist-spec: a 416 for an out-of-order chunk carries where the upload stands
    if (isRegistryError(e) && e.code === 'RANGE_NOT_SATISFIABLE') {
      const s = await deps.uploads.status(name, uuid).catch(() => undefined);
      if (s) reply.header('location', `/v2/${name.value}/blobs/uploads/${s.id}`).header('range', rangeHeader(s)).header('docker-upload-uuid', s.id);
    }
    throw e;
  }
}

async function referrers(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: V2Deps,
  route: Extract<V2Route, { kind: 'referrers' }>,
  method: string,
  query: URLSearchParams,
) {
  req.operation = 'v2.referrers';
  if (method !== 'GET') throw unsupported();
  await allow(req, reply, deps, 'pull', route.name);
  const artifactType = query.get('artifactType') ?? undefined;
  const manifests = await deps.manifests.referrers(route.name, route.digest, artifactType);
  if (artifactType !== undefined) reply.header('oci-filters-applied', 'artifactType');
  return reply
    .code(200)
    .header('content-type', 'application/vnd.oci.image.index.v1+json')
    // a Buffer, because Fastify appends `; charset=utf-8` to a JSON type it serializes itself,
    // and dist-spec clients compare the referrers Content-Type exactly
    .send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })));
}

function sessionReply(reply: FastifyReply, name: RepoName, s: UploadSession, code: number) {
  return reply
    .code(code)
    .header('location', `/v2/${name.value}/blobs/uploads/${s.id}`)
    .header('range', rangeHeader(s))
    .header('docker-upload-uuid', s.id)
    .header('content-length', '0')
    .send();
}

/** dist-spec: `Range: 0-<offset-1>`; Distribution sends `0-0` for an empty upload. */
function rangeHeader(s: UploadSession): string {
  return `0-${Math.max(0, s.size - 1)}`;
}

function paging(query: URLSearchParams): { n?: number; last?: string } {
  const nRaw = query.get('n');
  const last = query.get('last') ?? undefined;
  let n: number | undefined;
  if (nRaw !== null && nRaw !== '') {
    n = Number(nRaw);
    if (!Number.isSafeInteger(n) || n < 0) throw badRequest('n must be a non-negative integer');
  }
  return { ...(n !== undefined ? { n } : {}), ...(last !== undefined ? { last } : {}) };
}

function acceptList(req: FastifyRequest): string[] {
  const h = req.headers.accept;
  if (!h) return [];
  return (Array.isArray(h) ? h : [h]).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
}

function contentLength(req: FastifyRequest): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) return undefined;
  const n = Number(h);
  if (!Number.isSafeInteger(n) || n < 0) throw blobUploadInvalid('invalid Content-Length');
  return n;
}

function contentRange(req: FastifyRequest): ByteRange | undefined {
  const h = req.headers['content-range'];
  if (h === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(String(h).trim());
  if (!m) throw new RegistryError('RANGE_NOT_SATISFIABLE', 'malformed Content-Range', { contentRange: String(h).slice(0, 100) });
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** Reads a small body (a manifest) whole, refusing it past `limit` bytes. */
async function readLimited(stream: Readable, limit: number, declared: number | undefined): Promise<Buffer> {
  if (declared !== undefined && declared > limit) {
    stream.resume();
    throw payloadTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) throw payloadTooLarge(limit);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, n);
}
