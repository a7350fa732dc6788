import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Harbor's CVE allowlist API and the project settings of the pull gate, on SQLite and PostgreSQL. */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`CVE allowlists and project policy settings (${dialect})`, () => {
    let s: TestServer;
    let alice: string;
    let schemaDrop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      let env: Record<string, string> = {};
      if (dialect === 'postgres') {
        const { createTestSchema } = await import('../helpers/postgres.js');
        const schema = await createTestSchema();
        schemaDrop = () => schema.drop();
        env = { BERTH_DATABASE_DRIVER: 'postgres', BERTH_DATABASE_URL: schema.url, BERTH_DATABASE_SCHEMA: schema.schema };
      }
      s = await startTestServer(env);
      await s.server.berth.users.create({ username: 'alice', password: 'Alice12345' });
      alice = `Basic ${Buffer.from('alice:Alice12345').toString('base64')}`;
    });
    afterAll(async () => {
      await s?.stop();
      await schemaDrop?.();
    });

    const call = (path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}) =>
      fetch(`${s.url}/api/v2.0${path}`, {
        method: init.method ?? 'GET',
        headers: { 'content-type': 'application/json', ...(init.auth === null ? {} : { authorization: init.auth ?? s.adminBasic }) },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    const message = async (res: Response) => ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0]!;

    it('reads an empty system allowlist before any write, for signed-in users only', async () => {
      const res = await call('/system/CVEAllowlist', { auth: alice });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id: 0, project_id: 0, items: [] });
      expect((await call('/system/CVEAllowlist', { auth: null })).status).toBe(401);
    });

    it('lets a system administrator replace it, nobody else', async () => {
      const body = { items: [{ cve_id: 'CVE-2021-44228' }, { cve_id: 'CVE-2014-0160' }], expires_at: 1_900_000_000 };
      expect((await call('/system/CVEAllowlist', { method: 'PUT', body, auth: alice })).status).toBe(403);
      expect((await call('/system/CVEAllowlist', { method: 'PUT', body, auth: null })).status).toBe(401);
      expect((await call('/system/CVEAllowlist', { method: 'PUT', body })).status).toBe(200);
      const got = (await (await call('/system/CVEAllowlist', { auth: alice })).json()) as Record<string, unknown>;
      expect(got).toMatchObject({ project_id: 0, expires_at: 1_900_000_000, items: body.items });
      expect(new Date(got['update_time'] as string).toISOString()).toBe(got['update_time']);
      // null: never expires (Harbor leaves expires_at out)
      expect((await call('/system/CVEAllowlist', { method: 'PUT', body: { items: body.items, expires_at: null } })).status).toBe(200);
      expect(await (await call('/system/CVEAllowlist')).json()).not.toHaveProperty('expires_at');
    });

    it('validates as Harbor does', async () => {
      const bad = async (body: unknown, re: RegExp) => {
        const res = await call('/system/CVEAllowlist', { method: 'PUT', body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect((await message(res)).message).toMatch(re);
      };
      await bad({ items: [{ cve_id: '' }] }, /empty or whitespace-only CVE ID/);
      await bad({ items: [{ cve_id: '   ' }] }, /empty or whitespace-only CVE ID/);
      await bad({ items: [{ cve_id: 'CVE-1' }, { cve_id: 'cve-1' }] }, /duplicate CVE ID in allowlist: cve-1/);
      await bad({ items: [], expires_at: -5 }, /expires_at must be a unix time/);
      await bad({ items: [], expires_at: 1.5 }, /./);
      await bad({ items: [], expires_at: 'tomorrow' }, /./);
      await bad({ items: [{ cve: 'CVE-1' }] }, /./);
      await bad({ items: [], colour: 'red' }, /./);
    });

    it('records each change in the audit log', async () => {
      const logs = (await (await call('/audit-logs?q=resource_type%3Dcve_allowlist')).json()) as { resource: string; operation: string; username: string }[];
      expect(logs.length).toBeGreaterThanOrEqual(2);
      expect(logs[0]).toMatchObject({ resource: 'system', operation: 'update', username: 'admin' });
    });

    it('takes a project allowlist and the policy metadata in the project body, audited', async () => {
      const create = await call('/projects', {
        method: 'POST',
        body: {
          project_name: 'policy',
          metadata: { public: 'false', prevent_vul: 'true', severity: 'High', auto_scan: true, reuse_sys_cve_allowlist: 'false' },
          cve_allowlist: { items: [{ cve_id: 'CVE-2023-0001' }], expires_at: 2_000_000_000 },
        },
      });
      expect(create.status).toBe(201);
      const p = (await (await call('/projects/policy')).json()) as { project_id: number; metadata: Record<string, string>; cve_allowlist: Record<string, unknown> };
      expect(p.metadata).toEqual({ public: 'false', prevent_vul: 'true', severity: 'high', auto_scan: 'true', reuse_sys_cve_allowlist: 'false' });
      expect(p.cve_allowlist).toMatchObject({ project_id: p.project_id, items: [{ cve_id: 'CVE-2023-0001' }], expires_at: 2_000_000_000 });
      // listings carry the metadata too
      const list = (await (await call('/projects?name=policy')).json()) as { metadata: Record<string, string> }[];
      expect(list[0]!.metadata['prevent_vul']).toBe('true');

      expect((await call('/projects/policy', { method: 'PUT', body: { metadata: { severity: 'critical' }, cve_allowlist: { items: [] } } })).status).toBe(200);
      const q = (await (await call('/projects/policy')).json()) as { metadata: Record<string, string>; cve_allowlist: { items: unknown[] } };
      expect(q.metadata).toMatchObject({ severity: 'critical', prevent_vul: 'true' });
      expect(q.cve_allowlist.items).toEqual([]);
      // the system list is a list of its own
      expect(((await (await call('/system/CVEAllowlist')).json()) as { items: unknown[] }).items).toHaveLength(2);

      const logs = (await (await call('/projects/policy/logs?q=resource_type%3Dcve_allowlist')).json()) as { resource: string }[];
      expect(logs.map((l) => l.resource)).toEqual(['policy', 'policy']);
    });

    it('refuses bad metadata and a bad allowlist in the project body (400), changing nothing', async () => {
      for (const metadata of [{ severity: 'severe' }, { prevent_vul: 'yes' }, { colour: 'red' }]) {
        const res = await call('/projects/policy', { method: 'PUT', body: { metadata } });
        expect(res.status, JSON.stringify(metadata)).toBe(400);
      }
      expect((await call('/projects/policy', { method: 'PUT', body: { metadata: { severity: 'low' }, cve_allowlist: { items: [{ cve_id: '' }] } } })).status).toBe(400);
      const p = (await (await call('/projects/policy')).json()) as { metadata: Record<string, string> };
      expect(p.metadata['severity']).toBe('critical');
      expect((await call('/projects', { method: 'POST', body: { project_name: 'badmeta', metadata: { severity: 'x' } } })).status).toBe(400);
      expect((await call('/projects/badmeta')).status).toBe(404);
    });

    it('lets only those who may update the project change its policy', async () => {
      expect((await call('/projects/policy', { method: 'PUT', body: { metadata: { prevent_vul: 'false' } }, auth: alice })).status).toBe(403);
      const p = (await (await call('/projects/policy')).json()) as { metadata: Record<string, string> };
      expect(p.metadata['prevent_vul']).toBe('true');
    });
  });
}
