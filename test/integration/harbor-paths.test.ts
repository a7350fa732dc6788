import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HARBOR_OPERATIONS } from '../../src/http/api/harbor-operations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Operation {
  method: string;
  path: string;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/harbor-operations.json', import.meta.url), 'utf8')) as { basePath: string; operations: Operation[] };

/**
 * Values for Harbor's path parameters: names of things that do not exist, so that every call
 * is harmless and an implemented operation answers with a real status (404 for a missing
 * project, 400 for an empty body…), never with "no such route".
 */
const PARAM: Record<string, string> = {
  project_name: 'harbor-probe',
  project_name_or_id: 'harbor-probe',
  repository_name: 'probe',
  reference: 'latest',
  tag_name: 'latest',
  digest: `sha256:${'0'.repeat(64)}`,
  meta_name: 'auto_scan',
  addition: 'build_history',
  report_id: 'probe',
  preheat_instance_name: 'probe',
  preheat_policy_name: 'probe',
  pool_id: 'all',
  job_id: 'probe',
  job_type: 'all',
};

function concrete(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(PARAM[name] ?? '999999'));
}

describe("Harbor's API, operation by operation", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it('probes the same operations that Berth answers 501 for when it has no route', () => {
    const key = (m: string, p: string) => `${m} ${p}`;
    expect(new Set(HARBOR_OPERATIONS.map(([m, p]) => key(m, p)))).toEqual(new Set(fixture.operations.map((o) => key(o.method, o.path))));
    expect(fixture.operations.length).toBeGreaterThan(200);
  });

  it("answers every operation with an implementation or Harbor's error shape, never a bare 404 or HTML", async () => {
    let implemented = 0;
    const missing: string[] = [];
    for (const op of fixture.operations) {
      const url = `${fixture.basePath}${concrete(op.path)}`;
      const withBody = op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH';
      const res = await fetch(new URL(url, s.url), {
        method: op.method,
        headers: { authorization: s.adminBasic, ...(withBody ? { 'content-type': 'application/json' } : {}) },
        ...(withBody ? { body: '{}' } : {}),
      });
      const what = `${op.method} ${op.path} → ${res.status}`;
      const type = res.headers.get('content-type') ?? '';
      expect(type, what).not.toMatch(/html/);
      const text = op.method === 'HEAD' ? '' : await res.text();
      // a crash is not an answer; 501 is the one 5xx, and it means "not implemented"
      expect(res.status < 500 || res.status === 501, `${what} ${text.slice(0, 300)}`).toBe(true);
      if (res.status >= 400 && op.method !== 'HEAD') {
        expect(type, what).toMatch(/^application\/json/);
        const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
        expect(Array.isArray(body.errors) && body.errors.length > 0, `${what} ${text.slice(0, 300)}`).toBe(true);
        const [e] = body.errors!;
        expect(typeof e!.code === 'string' && e!.code !== '' && typeof e!.message === 'string', `${what} ${text.slice(0, 300)}`).toBe(true);
        expect(e!.code === 'NOT_IMPLEMENTED', what).toBe(res.status === 501);
        // a Harbor operation is never "no route"
        expect(String(e!.message), what).not.toMatch(/^no route for/);
      }
      if (res.status === 501) missing.push(`${op.method} ${op.path}`);
      else implemented++;
    }
    console.log(`Harbor operations implemented by Berth: ${implemented} of ${fixture.operations.length}; answered 501 NOT_IMPLEMENTED: ${missing.length}`);
    if (process.env['BERTH_TEST_LIST_MISSING']) console.log(missing.join('\n'));
    expect(implemented + missing.length).toBe(fixture.operations.length);
  });

  it('answers a path that is not Harbor\'s with 404 NOT_FOUND in the same shape, and /v2 in the dist-spec shape', async () => {
    const api = await fetch(new URL('/api/v2.0/not-a-harbor-path', s.url), { headers: { authorization: s.adminBasic } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_FOUND');
    const other = await fetch(new URL('/nothing-here', s.url));
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toMatch(/^application\/json/);
    const v2 = await fetch(new URL('/v2/a/b/c/d', s.url), { headers: { authorization: s.adminBasic } });
    expect(v2.status).toBe(404);
    expect(((await v2.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_FOUND');
  });

  it('tells a Harbor operation Berth lacks from a missing resource of one it has', async () => {
    // purge history is Berth's; stopping a purge is not
    const stop = await fetch(new URL('/api/v2.0/system/purgeaudit/1', s.url), { method: 'PUT', headers: { authorization: s.adminBasic } });
    expect(stop.status).toBe(501);
    const missing = await fetch(new URL('/api/v2.0/system/purgeaudit/999999', s.url), { headers: { authorization: s.adminBasic } });
    expect(missing.status).toBe(404);
  });
});
