import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { body, IMAGE_CONFIG, json, member, OCI_INDEX, OCI_MANIFEST, pushIndex, pushReferrer, pushUntagged } from './catalog-fixtures.js';

interface Tag {
  id: number;
  name: string;
  artifact_id: number;
  repository_id: number;
  immutable: boolean;
  push_time: string;
  signed?: boolean;
}
interface Artifact {
  id: number;
  type: string;
  media_type: string;
  manifest_media_type: string;
  project_id: number;
  repository_id: number;
  repository_name: string;
  digest: string;
  size: number;
  push_time: string;
  pull_time: string;
  extra_attrs: Record<string, unknown>;
  annotations: Record<string, string> | null;
  references: { parent_id: number; child_id: number | null; child_digest: string; platform?: { architecture: string; variant?: string } }[] | null;
  tags: Tag[] | null;
  labels: unknown[] | null;
  accessories: { digest: string; type: string; subject_artifact_digest: string }[] | null;
}

let s: TestServer;
let admin: RegistryClient;
let anon: RegistryClient;
let dev: RegistryClient;
let guest: RegistryClient;
let outsider: RegistryClient;
let image: { digest: string; size: number; body: string };
let multi: { digest: string; children: string[] };

const A = '/api/v2.0/projects/art/repositories';

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  anon = new RegistryClient(s.url);
  await createProject(s.url, s.adminBasic, 'art', false);
  await createProject(s.url, s.adminBasic, 'dest', false);
  dev = await member(s, 'dev1', 'art', 'developer');
  guest = await member(s, 'guest1', 'art', 'guest');
  outsider = await member(s, 'outsider1', 'art', undefined);
  image = await pushUntagged(admin, 'art/app', 'amd64');
  expect((await admin.pushManifest('art/app', 'v1', image.body)).status).toBe(201);
  multi = await pushIndex(admin, 'art/multi', 'latest');
});
afterAll(() => s.stop());

describe('artifacts: Harbor JSON', () => {
  it('lists an image with its tags, type, media types, size and the config’s extra_attrs', async () => {
    const res = await admin.fetch(`${A}/app/artifacts`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total-count')).toBe('1');
    const [a] = await body<Artifact[]>(res);
    expect(a).toMatchObject({
      type: 'IMAGE',
      media_type: IMAGE_CONFIG,
      manifest_media_type: OCI_MANIFEST,
      repository_name: 'art/app',
      digest: image.digest,
      size: image.size,
      pull_time: '0001-01-01T00:00:00.000Z',
      extra_attrs: { architecture: 'amd64', os: 'linux', created: '2024-01-02T03:04:05Z', author: 'berth' },
      references: null,
      labels: null,
    });
    expect(a!.tags!.map((t) => t.name)).toEqual(['v1']);
    expect(a!.tags![0]).toMatchObject({ artifact_id: a!.id, repository_id: a!.repository_id, immutable: false });
    expect(typeof a!.tags![0]!.id).toBe('number');
    expect(new Date(a!.push_time).toISOString()).toBe(a!.push_time);
    const project = await body<{ project_id: number }>(await admin.fetch('/api/v2.0/projects/art'));
    expect(a!.project_id).toBe(project.project_id);
  });

  it('lists an index once, with its children as references, and the children with base=*', async () => {
    const res = await admin.fetch(`${A}/multi/artifacts`);
    expect(res.headers.get('x-total-count')).toBe('1');
    const [idx] = await body<Artifact[]>(res);
    expect(idx).toMatchObject({ digest: multi.digest, type: 'IMAGE', manifest_media_type: OCI_INDEX, media_type: OCI_INDEX });
    expect(idx!.references!.map((r) => r.child_digest)).toEqual(multi.children);
    expect(idx!.references![1]!.platform).toMatchObject({ architecture: 'arm64', variant: 'v8' });
    expect(idx!.references!.every((r) => r.parent_id === idx!.id && typeof r.child_id === 'number')).toBe(true);
    const all = await body<Artifact[]>(await admin.fetch(`${A}/multi/artifacts?q=base%3D*`));
    expect(all.map((x) => x.digest).sort()).toEqual([multi.digest, ...multi.children].sort());
    const repo = await body<{ artifact_count: number }>(await admin.fetch(`${A}/multi`));
    expect(repo.artifact_count).toBe(1);
  });

  it('gets an artifact by tag or by digest, 404 for neither', async () => {
    const byTag = await body<Artifact>(await admin.fetch(`${A}/app/artifacts/v1`));
    const byDigest = await body<Artifact>(await admin.fetch(`${A}/app/artifacts/${image.digest}?with_tag=false`));
    expect(byTag.digest).toBe(image.digest);
    expect(byDigest.id).toBe(byTag.id);
    expect(byDigest.tags).toBeNull();
    expect((await admin.fetch(`${A}/app/artifacts/nope`)).status).toBe(404);
    expect((await admin.fetch(`${A}/app/artifacts/sha256:${'0'.repeat(64)}`)).status).toBe(404);
    expect((await admin.fetch(`${A}/app/artifacts/sha256:zz`)).status).toBe(400);
    const missing = await admin.fetch(`${A}/nothing/artifacts`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_FOUND');
  });

  it('shows accessories (referrers) with with_accessory and the signature on tags with with_signature, never as artifacts', async () => {
    const sig = await pushReferrer(admin, 'art/app', { digest: image.digest, size: image.body.length }, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    const list = await admin.fetch(`${A}/app/artifacts?with_accessory=true&with_signature=true`);
    expect(list.headers.get('x-total-count')).toBe('1');
    const [a] = await body<Artifact[]>(list);
    expect(a!.accessories).toEqual([expect.objectContaining({ digest: sig, type: 'signature.cosign', subject_artifact_digest: image.digest })]);
    expect(a!.tags![0]!.signed).toBe(true);
    const plain = await body<Artifact[]>(await admin.fetch(`${A}/app/artifacts`));
    expect(plain[0]!.accessories).toBeNull();
    expect(plain[0]!.tags![0]!.signed).toBeUndefined();
  });

  it('accepts with_scan_overview and the other Harbor switches without scan data', async () => {
    const res = await admin.fetch(`${A}/app/artifacts?with_scan_overview=true&with_immutable_status=true&with_label=true&with_sbom_overview=true`);
    expect(res.status).toBe(200);
    const [a] = await body<(Artifact & { scan_overview?: unknown })[]>(res);
    expect(a!.scan_overview).toBeUndefined();
    expect(a!.labels).toEqual([]);
  });
});

describe('artifacts: q and sort', () => {
  let untagged: string;
  beforeAll(async () => {
    untagged = (await pushUntagged(admin, 'art/filters', 'amd64')).digest;
    const tagged = await pushUntagged(admin, 'art/filters', 's390x');
    await admin.pushManifest('art/filters', 'release-1', tagged.body);
    await admin.pushManifest('art/filters', 'dev-2', (await pushUntagged(admin, 'art/filters', 'arm64')).body);
  });
  const digests = async (query: string) => {
    const res = await admin.fetch(`${A}/filters/artifacts?${query}`);
    return { total: res.headers.get('x-total-count'), list: (await body<Artifact[]>(res)).map((a) => (a.tags ?? []).map((t) => t.name).join('+') || a.digest) };
  };

  it('filters on tags=*, tags=nil, tags=~v and exact tags', async () => {
    expect(await digests('q=tags%3D*')).toMatchObject({ total: '2' });
    expect(await digests('q=tags%3Dnil')).toEqual({ total: '1', list: [untagged] });
    expect((await digests('q=tags%3D~lease')).list).toEqual(['release-1']);
    expect((await digests('q=tags%3Ddev-2')).list).toEqual(['dev-2']);
    expect((await digests(`q=${encodeURIComponent('tags={dev-2 release-1}')}`)).total).toBe('2');
  });

  it('filters on digest, type and media_type', async () => {
    expect((await digests(`q=digest%3D${untagged}`)).list).toEqual([untagged]);
    expect((await digests('q=type%3DIMAGE')).total).toBe('3');
    expect((await digests('q=type%3DCHART')).total).toBe('0');
    expect((await digests(`q=${encodeURIComponent(`media_type=${IMAGE_CONFIG}`)}`)).total).toBe('3');
  });

  it('filters on a push_time range', async () => {
    expect((await digests(`q=${encodeURIComponent('push_time=[2000-01-01T00:00:00~]')}`)).total).toBe('3');
    expect((await digests(`q=${encodeURIComponent('push_time=[~2000-01-01 00:00:00]')}`)).total).toBe('0');
  });

  it('sorts newest first by default, by push_time either way on request', async () => {
    const byDefault = (await digests('')).list;
    expect(byDefault).toEqual(['dev-2', 'release-1', untagged]);
    expect((await digests('sort=push_time')).list).toEqual([untagged, 'release-1', 'dev-2']);
    expect((await digests('sort=-push_time')).list).toEqual(byDefault);
    const byDigest = (await body<Artifact[]>(await admin.fetch(`${A}/filters/artifacts?sort=digest`))).map((a) => a.digest);
    expect(byDigest).toEqual([...byDigest].sort());
  });

  it('refuses unknown keys, bad patterns and unknown sorts with 400', async () => {
    for (const q of ['q=colour%3Dred', 'q=tags%3D[a~b]', 'q=push_time%3Dyesterday', 'q=labels%3Dx', 'q=base%3D1', 'sort=size', 'q=%2C']) {
      const res = await admin.fetch(`${A}/filters/artifacts?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('BAD_REQUEST');
    }
  });

  it('pages with X-Total-Count and Link', async () => {
    const p1 = await admin.fetch(`${A}/filters/artifacts?page=1&page_size=2`);
    expect(p1.headers.get('x-total-count')).toBe('3');
    expect(p1.headers.get('link')).toContain('rel="next"');
    expect((await body<Artifact[]>(p1)).length).toBe(2);
    const p2 = await admin.fetch(`${A}/filters/artifacts?page=2&page_size=2`);
    expect((await body<Artifact[]>(p2)).map((a) => a.digest)).toEqual([untagged]);
    expect(p2.headers.get('link')).toContain('rel="prev"');
    expect((await body<Artifact[]>(await admin.fetch(`${A}/filters/artifacts?page=9&page_size=2`))).length).toBe(0);
  });
});

describe('tags', () => {
  it('creates (201), refuses a duplicate (409) or a bad name (400), lists and deletes tags', async () => {
    const create = await admin.fetch(`${A}/app/artifacts/v1/tags`, json('POST', { name: 'v1.0.1' }));
    expect(create.status).toBe(201);
    expect((await admin.fetch(`${A}/app/artifacts/v1/tags`, json('POST', { name: 'v1.0.1' }))).status).toBe(409);
    expect((await admin.fetch(`${A}/app/artifacts/v1/tags`, json('POST', { name: '-bad' }))).status).toBe(400);
    const tags = await admin.fetch(`${A}/app/artifacts/${image.digest}/tags?q=name%3D~v1`);
    expect(tags.headers.get('x-total-count')).toBe('2');
    expect((await body<Tag[]>(tags)).map((t) => t.name)).toEqual(['v1', 'v1.0.1']);
    // the tag is a /v2 tag like any other
    const pulled = await admin.fetch('/v2/art/app/manifests/v1.0.1', { headers: { accept: OCI_MANIFEST } });
    expect(pulled.headers.get('docker-content-digest')).toBe(image.digest);
    expect((await admin.fetch(`${A}/app/artifacts/v1/tags/v1.0.1`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin.fetch('/v2/art/app/manifests/v1.0.1')).status).toBe(404);
    expect((await admin.fetch(`${A}/app/artifacts/v1/tags/v1.0.1`, { method: 'DELETE' })).status).toBe(404);
  });

  it('deletes a tag only through the artifact it is attached to', async () => {
    await admin.fetch(`${A}/multi/artifacts/latest/tags`, json('POST', { name: 'other' }));
    expect((await admin.fetch(`${A}/app/artifacts/v1/tags/other`, { method: 'DELETE' })).status).toBe(404);
    expect((await admin.fetch('/v2/art/multi/manifests/other', { method: 'HEAD', headers: { accept: OCI_INDEX } })).status).toBe(200);
  });
});

describe('copy', () => {
  it('copies an index with its children, blobs and tags into another project', async () => {
    const res = await admin.fetch(`/api/v2.0/projects/dest/repositories/copied/artifacts?from=${encodeURIComponent('art/multi:latest')}`, { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/api/v2.0/projects/dest/repositories/copied/artifacts/latest');
    const pulled = await admin.fetch('/v2/dest/copied/manifests/latest', { headers: { accept: OCI_INDEX } });
    expect(pulled.headers.get('docker-content-digest')).toBe(multi.digest);
    for (const child of multi.children) {
      const m = await admin.fetch(`/v2/dest/copied/manifests/${child}`, { headers: { accept: OCI_MANIFEST } });
      expect(m.status).toBe(200);
      const layer = ((await m.json()) as { layers: { digest: string }[] }).layers[0]!.digest;
      expect((await admin.fetch(`/v2/dest/copied/blobs/${layer}`)).status).toBe(200);
    }
    const [copied] = await body<Artifact[]>(await admin.fetch('/api/v2.0/projects/dest/repositories/copied/artifacts'));
    expect(copied!.digest).toBe(multi.digest);
    expect(copied!.tags!.map((t) => t.name).sort()).toEqual(['latest', 'other']);
  });

  it('copies by digest, refuses what is there already (409) and bad sources (400, 404)', async () => {
    expect((await admin.fetch(`/api/v2.0/projects/dest/repositories/single/artifacts?from=art/app@${image.digest}`, { method: 'POST' })).status).toBe(201);
    expect((await admin.fetch(`/api/v2.0/projects/dest/repositories/single/artifacts?from=art/app@${image.digest}`, { method: 'POST' })).status).toBe(409);
    expect((await admin.fetch('/api/v2.0/projects/dest/repositories/x/artifacts?from=nonsense', { method: 'POST' })).status).toBe(400);
    expect((await admin.fetch('/api/v2.0/projects/dest/repositories/x/artifacts?from=art/app:nope', { method: 'POST' })).status).toBe(404);
    expect((await admin.fetch('/api/v2.0/projects/ghost/repositories/x/artifacts?from=art/app:v1', { method: 'POST' })).status).toBe(404);
  });

  it('needs create rights in the target and read rights in the source', async () => {
    expect((await guest.fetch(`${A}/copy-by-guest/artifacts?from=art/app:v1`, { method: 'POST' })).status).toBe(403);
    // a developer of art cannot read dest
    expect((await dev.fetch(`${A}/from-dest/artifacts?from=dest/single@${image.digest}`, { method: 'POST' })).status).toBe(403);
    expect((await dev.fetch(`${A}/dev-copy/artifacts?from=art/app:v1`, { method: 'POST' })).status).toBe(201);
  });
});

describe('delete', () => {
  it('deletes an artifact by tag with its tags; the blobs stay linked for GC', async () => {
    const x = await pushUntagged(admin, 'art/gone', 'amd64');
    await admin.pushManifest('art/gone', 'a', x.body);
    await admin.pushManifest('art/gone', 'b', x.body);
    const layer = (JSON.parse(x.body) as { layers: { digest: string }[] }).layers[0]!.digest;
    expect((await admin.fetch(`${A}/gone/artifacts/a`, { method: 'DELETE' })).status).toBe(200);
    for (const ref of ['a', 'b', x.digest]) expect((await admin.fetch(`/v2/art/gone/manifests/${ref}`)).status).toBe(404);
    expect((await admin.fetch(`/v2/art/gone/blobs/${layer}`)).status).toBe(200);
    expect((await admin.fetch(`${A}/gone/artifacts/a`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses to delete a child an index references (412), deletes an index with its children', async () => {
    const idx = await pushIndex(admin, 'art/tree', 'v1');
    const child = await admin.fetch(`${A}/tree/artifacts/${idx.children[0]}`, { method: 'DELETE' });
    expect(child.status).toBe(412);
    expect((await admin.fetch(`${A}/tree/artifacts/v1`, { method: 'DELETE' })).status).toBe(200);
    for (const d of [idx.digest, ...idx.children]) expect((await admin.fetch(`/v2/art/tree/manifests/${d}`)).status).toBe(404);
    expect((await admin.fetch(`${A}/tree/artifacts?q=base%3D*`)).headers.get('x-total-count')).toBe('0');
  });

  it('records deletes, copies and tag changes in the audit log with the operator and address', async () => {
    const logs = await s.server.berth.metadata.audit.list({ operator: 'admin' }, { limit: 200 });
    const seen = logs.items.map((l) => `${l.operation} ${l.resourceType} ${l.resource}`);
    expect(seen).toContain(`create tag art/app:v1.0.1`);
    expect(seen).toContain(`delete tag art/app:v1.0.1`);
    expect(seen).toContain(`create artifact dest/copied@${multi.digest}`);
    expect(seen.some((l) => l.startsWith('delete artifact art/gone@'))).toBe(true);
    expect(logs.items.every((l) => l.sourceIp === '127.0.0.1' && l.result === 'success')).toBe(true);
  });
});

describe('artifacts: who may do what', () => {
  it('lets guests list and read but not delete or tag; refuses outsiders (403) and anonymous (401)', async () => {
    expect((await guest.fetch(`${A}/app/artifacts`)).status).toBe(200);
    expect((await guest.fetch(`${A}/app/artifacts/v1`)).status).toBe(200);
    expect((await guest.fetch(`${A}/app/artifacts/v1`, { method: 'DELETE' })).status).toBe(403);
    expect((await guest.fetch(`${A}/app/artifacts/v1/tags`, json('POST', { name: 'g' }))).status).toBe(403);
    expect((await dev.fetch(`${A}/app/artifacts/v1/tags`, json('POST', { name: 'by-dev' }))).status).toBe(201);
    expect((await dev.fetch(`${A}/app/artifacts/v1/tags/by-dev`, { method: 'DELETE' })).status).toBe(403);
    expect((await dev.fetch(`${A}/app/artifacts/v1`, { method: 'DELETE' })).status).toBe(403);
    expect((await outsider.fetch(`${A}/app/artifacts`)).status).toBe(403);
    expect((await anon.fetch(`${A}/app/artifacts`)).status).toBe(401);
    expect((await anon.fetch(`${A}/app/artifacts/v1`, { method: 'DELETE' })).status).toBe(401);
  });

  it('lets anybody list the artifacts of a public project', async () => {
    await admin.pushImage('library/pub', 'v1');
    expect((await anon.fetch('/api/v2.0/projects/library/repositories/pub/artifacts')).status).toBe(200);
    expect((await anon.fetch('/api/v2.0/projects/library/repositories/pub/artifacts/v1', { method: 'DELETE' })).status).toBe(401);
  });
});

describe('repository names with a slash', () => {
  it('accepts the name encoded once, twice, or plain', async () => {
    const deep = await pushUntagged(admin, 'art/team/tool', 'amd64');
    await admin.pushManifest('art/team/tool', 't1', deep.body);
    for (const name of ['team%2Ftool', 'team%252Ftool', 'team/tool']) {
      const list = await admin.fetch(`${A}/${name}/artifacts`);
      expect(list.status, name).toBe(200);
      expect((await body<Artifact[]>(list))[0]!.repository_name).toBe('art/team/tool');
      expect((await admin.fetch(`${A}/${name}/artifacts/t1/tags`)).status, name).toBe(200);
      expect((await body<{ name: string }>(await admin.fetch(`${A}/${name}`))).name).toBe('art/team/tool');
    }
  });
});
