import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, errorsOf, RegistryClient } from '../../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { pushImage, putBlob, putManifest, randomLayer } from './oci-fixtures.js';

// OCI Distribution Spec v1.1, "Listing Tags"; conformance 03_discovery "listing tags",
// 04_management "tags list should reflect manifest deletion", conformance2 tag-list.

let s: TestServer;
let admin: RegistryClient;
const repo = 'conf/tags';
// pushed out of order; byte ("ASCIIbetical") order is 10 < 9 < A < _x < a < b < latest
const TAGS = ['b', 'latest', 'A', '9', '_x', 'a', '10'];
const SORTED = ['10', '9', 'A', '_x', 'a', 'b', 'latest'];

type TagList = { name: string; tags: string[] };

beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
  await createProject(s.url, s.adminBasic, 'conf');
  const { manifest } = await pushImage(admin, repo);
  for (const t of TAGS) await putManifest(admin, repo, t, manifest);
});
afterAll(() => s.stop());

async function list(query = ''): Promise<{ res: Response; body: TagList }> {
  const res = await admin.fetch(`/v2/${repo}/tags/list${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { res, body: (await res.json()) as TagList };
}

describe('tags/list', () => {
  // "If the list is not empty, the tags MUST be in lexical order (i.e. case-insensitive
  // alphanumeric order)" … "or ASCIIbetical" — Go's sort.Strings, i.e. byte order.
  it('returns {name, tags} in byte order', async () => {
    const { body } = await list();
    expect(body).toEqual({ name: repo, tags: SORTED });
  });

  // "<int> is an integer specifying the number of tags requested. The response to such a request
  // MAY return fewer than <int> results, but only when the total number of tags attached to the
  // repository is less than <int> or a Link header is provided."
  it('limits the page with n and points to the next one with a Link header', async () => {
    const first = await list('?n=3');
    expect(first.body.tags).toEqual(SORTED.slice(0, 3));
    expect(first.res.headers.get('link')).toBe(`</v2/${repo}/tags/list?n=3&last=A>; rel="next"`);
    // follow the links to the end, as clients do
    const seen = [...first.body.tags];
    let link = first.res.headers.get('link');
    while (link) {
      const next = /^<([^>]+)>; rel="next"$/.exec(link)![1]!;
      const res = await admin.fetch(next);
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as TagList).tags);
      link = res.headers.get('link');
    }
    expect(seen).toEqual(SORTED);
  });

  // "The last query parameter provides further means for limiting the number of tags ... the
  // response MUST ... begin [after] the <tagname> ... When using the last query parameter, the
  // n parameter is OPTIONAL."
  it('starts after `last`, with or without n', async () => {
    expect((await list('?n=2&last=9')).body.tags).toEqual(['A', '_x']);
    expect((await list('?last=a')).body.tags).toEqual(['b', 'latest']);
    const end = await list('?n=5&last=latest');
    expect(end.body.tags).toEqual([]);
    expect(end.res.headers.get('link')).toBeNull();
  });

  // "If n is 0, the registry MUST return an empty list and MUST NOT include a Link header."
  it('answers n=0 with an empty list and no Link', async () => {
    const { res, body } = await list('?n=0');
    expect(body.tags).toEqual([]);
    expect(res.headers.get('link')).toBeNull();
  });

  it('returns everything without a Link when n is larger than the list', async () => {
    const { res, body } = await list('?n=100');
    expect(body.tags).toEqual(SORTED);
    expect(res.headers.get('link')).toBeNull();
  });

  it.each(['?n=abc', '?n=-1', '?n=1.5'])('refuses the malformed page size %s with 400', async (q) => {
    expect((await admin.fetch(`/v2/${repo}/tags/list${q}`)).status).toBe(400);
  });

  // "The list of tags MAY be empty"; a repository that does not exist is 404 NAME_UNKNOWN
  // (conformance2 accepts 200 or 404 for a repository before the first push).
  it('lists no tags for a repository with blobs only, and 404 for one that does not exist', async () => {
    await putBlob(admin, 'conf/blobs-only', randomLayer());
    expect((await (await admin.fetch('/v2/conf/blobs-only/tags/list')).json()) as TagList).toEqual({ name: 'conf/blobs-only', tags: [] });
    const none = await admin.fetch('/v2/conf/none/tags/list');
    expect(none.status).toBe(404);
    expect((await errorsOf(none))[0]!.code).toBe('NAME_UNKNOWN');
  });

  // 04_management: "GET request to tags list should reflect manifest deletion"
  it('reflects a deleted tag at once', async () => {
    expect((await admin.fetch(`/v2/${repo}/manifests/_x`, { method: 'DELETE' })).status).toBe(202);
    expect((await list()).body.tags).toEqual(SORTED.filter((t) => t !== '_x'));
  });
});
