import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandAudit } from '../../src/cli/audit.command.js';
import { openMetadata } from '../../src/db/metadata.js';
import { auditHash } from '../../src/db/repos/audit.repo.js';
import type { AuditEvent } from '../../src/ports/audit-repo.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { AuditService, SYSTEM_OPERATOR } from '../../src/services/audit.service.js';
import { createTestSchema, queryPostgres, type TestSchema } from '../helpers/postgres.js';
import { createProject } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** Varied records, one a minute from T0: what the filters and pages are checked against. */
function seed(n: number, projectId: number): AuditEvent[] {
  const ops = ['create', 'delete', 'pull'] as const;
  return Array.from({ length: n }, (_, i) => ({
    operator: i % 5 === 0 ? 'alice' : 'bob',
    operation: ops[i % 3]!,
    resourceType: i % 2 === 0 ? 'artifact' : 'tag',
    resource: `p1/app-${i % 7}:v${i}`,
    projectId,
    sourceIp: '10.0.0.1',
    result: 'success' as const,
    at: T0 + i * MINUTE,
  }));
}

interface Log {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
  result: string;
  source_ip: string;
}

describe('audit-logs API', () => {
  let s: TestServer;
  let p1: number;
  const seeded = 2_500;
  const get = (path: string, authorization = s.adminBasic) => fetch(new URL(path, s.url), { headers: { authorization } });
  const list = async (path: string) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    return { res, body: (await res.json()) as Log[] };
  };
  /** every seeded id, newest first */
  let allIds: number[];

  beforeAll(async () => {
    s = await startTestServer();
    const { berth } = s.server;
    await createProject(s.url, s.adminBasic, 'p1');
    await createProject(s.url, s.adminBasic, 'p2');
    p1 = (await berth.projects.find('p1', false)).id;
    const dev = await berth.users.create({ username: 'dev', password: 'Dev12345678' });
    await berth.metadata.members.add({ projectId: p1, entityType: 'u', entityId: dev.id, role: 'guest', now: Date.now() });
    await berth.users.create({ username: 'outsider', password: 'Out12345678' });
    await berth.metadata.audit.appendMany(seed(seeded, p1));
    const page = await berth.metadata.audit.list({ projectId: p1, from: T0, to: T0 + seeded * MINUTE }, { limit: 5000 });
    allIds = page.items.map((r) => r.id);
  });
  afterAll(() => s.stop());

  it("answers Harbor's AuditLog JSON, newest first, with Berth's result and source_ip", async () => {
    const { res, body } = await list('/api/v2.0/audit-logs?page_size=3');
    expect(res.headers.get('x-total-count')).toBe(String((await s.server.berth.metadata.audit.countUpTo({}, 1e6))));
    expect(body).toHaveLength(3);
    for (const l of body) expect(Object.keys(l).sort()).toEqual(['id', 'op_time', 'operation', 'resource', 'resource_type', 'result', 'source_ip', 'username']);
    expect(body[0]!.id).toBeGreaterThan(body[1]!.id);
    const newestSeeded = (await list(`/api/v2.0/audit-logs?page_size=1&q=${encodeURIComponent('username=alice')}`)).body[0]!;
    const i = seeded - 5;
    expect(newestSeeded).toEqual({
      id: newestSeeded.id,
      username: 'alice',
      resource: `p1/app-${i % 7}:v${i}`,
      resource_type: i % 2 === 0 ? 'artifact' : 'tag',
      operation: ['create', 'delete', 'pull'][i % 3],
      op_time: new Date(T0 + i * MINUTE).toISOString(),
      result: 'success',
      source_ip: '10.0.0.1',
    });
  });

  it('filters with q: operation, resource_type, username exactly; resource by substring; op_time by range', async () => {
    const q = (v: string) => `/api/v2.0/audit-logs?page_size=1000&q=${encodeURIComponent(v)}`;
    const ops = await list(q('operation=delete,resource_type=tag,username=alice'));
    // i % 3 == 1, i odd, i % 5 == 0 → i ≡ 25 (mod 30)
    expect(ops.body.map((l) => l.resource)).toEqual(seed(seeded, p1).map((e, i) => [e, i] as const).filter(([, i]) => i % 30 === 25).reverse().map(([e]) => e.resource));
    expect(ops.res.headers.get('x-total-count')).toBe(String(ops.body.length));
    const fuzzy = await list(q('resource=~app-3:v1'));
    expect(fuzzy.body.length).toBeGreaterThan(0);
    for (const l of fuzzy.body) expect(l.resource).toContain('app-3:v1');
    // Harbor's time format, UTC
    const range = await list(q('op_time=[2024-01-01 00:10:00~2024-01-01 00:19:00]'));
    expect(range.body.map((l) => l.op_time)).toEqual(Array.from({ length: 10 }, (_, k) => new Date(T0 + (19 - k) * MINUTE).toISOString()));
    // a LIKE wildcard in the value is a literal character
    expect((await list(q('resource=~app_3'))).body).toEqual([]);
  });

  it('refuses unknown query keys, patterns and sort keys, and page_size above 1000', async () => {
    for (const path of [
      '/api/v2.0/audit-logs?q=colour%3Dred',
      '/api/v2.0/audit-logs?q=operation%3D~del',
      '/api/v2.0/audit-logs?sort=username',
      '/api/v2.0/audit-logs?page_size=1001',
      '/api/v2.0/audit-logs?q=op_time%3D%5Byesterday~today%5D',
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('BAD_REQUEST');
    }
  });

  it('sorts oldest first with sort=op_time', async () => {
    const q = encodeURIComponent(`op_time=[2024-01-01 00:00:00~2024-01-01 00:04:00]`);
    const { body } = await list(`/api/v2.0/audit-logs?sort=op_time&q=${q}`);
    expect(body.map((l) => l.op_time)).toEqual(Array.from({ length: 5 }, (_, k) => new Date(T0 + k * MINUTE).toISOString()));
  });

  it('walks every page, by page number and by the Link cursor, without a gap or a repeat', async () => {
    const q = `q=${encodeURIComponent(`op_time=[2024-01-01 00:00:00~2024-01-03 00:00:00]`)}`;
    const byPage: number[] = [];
    for (let page = 1; page <= 3; page++) {
      const { res, body } = await list(`/api/v2.0/audit-logs?${q}&page=${page}&page_size=1000`);
      expect(res.headers.get('x-total-count')).toBe(String(seeded));
      const link = res.headers.get('link') ?? '';
      if (page < 3) expect(link).toMatch(/rel="next"/);
      else expect(link).not.toMatch(/rel="next"/);
      byPage.push(...body.map((l) => l.id));
    }
    expect(byPage).toEqual(allIds);

    const byLink: number[] = [];
    let next: string | undefined = `/api/v2.0/audit-logs?${q}&page_size=900`;
    while (next) {
      const { res, body }: { res: Response; body: Log[] } = await list(next);
      byLink.push(...body.map((l) => l.id));
      const m = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '');
      next = m?.[1];
      if (next) expect(next).toMatch(/before_id=\d+/);
    }
    expect(byLink).toEqual(allIds);
  });

  it('answers a cold deep page (no earlier page served) with the same records as the walk', async () => {
    const q = `q=${encodeURIComponent(`op_time=[2024-01-01 00:00:00~2024-01-03 00:00:00]`)}`;
    const { body } = await list(`/api/v2.0/audit-logs?${q}&page=7&page_size=333`);
    expect(body.map((l) => l.id)).toEqual(allIds.slice(6 * 333, 7 * 333));
    const past = await list(`/api/v2.0/audit-logs?${q}&page=99&page_size=333`);
    expect(past.body).toEqual([]);
  });

  it('counts exactly up to 10,000 matches and estimates beyond, saying so', async () => {
    const bulk = Array.from({ length: 10_050 }, (_, i) => ({ operator: 'bulk', operation: 'pull', resourceType: 'bulk', resource: `b${i}`, result: 'success' as const, at: T0 - MINUTE }));
    await s.server.berth.metadata.audit.appendMany(bulk);
    const filtered = await get(`/api/v2.0/audit-logs?page_size=1&q=${encodeURIComponent('resource_type=bulk')}`);
    expect(filtered.headers.get('x-total-count')).toBe('10001');
    expect(filtered.headers.get('x-total-count-estimated')).toBe('true');
    const all = await get('/api/v2.0/audit-logs?page_size=1');
    expect(Number(all.headers.get('x-total-count'))).toBeGreaterThanOrEqual(10_050 + seeded);
    expect(all.headers.get('x-total-count-estimated')).toBe('true');
    const small = await get(`/api/v2.0/audit-logs?page_size=1&q=${encodeURIComponent('username=alice')}`);
    expect(small.headers.get('x-total-count')).toBe(String(seeded / 5));
    expect(small.headers.get('x-total-count-estimated')).toBeNull();
  });

  it('is for system admins: 401 without credentials, 403 for other users', async () => {
    const anon = await fetch(new URL('/api/v2.0/audit-logs', s.url));
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
    expect((await get('/api/v2.0/audit-logs', basic('dev', 'Dev12345678'))).status).toBe(403);
    expect((await get('/api/v2.0/audit-logs/verify', basic('dev', 'Dev12345678'))).status).toBe(403);
    expect((await get('/api/v2.0/audit-logs/export', basic('dev', 'Dev12345678'))).status).toBe(403);
  });

  it("lists a project's records to its members with the log right, and to nobody else", async () => {
    const res = await get('/api/v2.0/projects/p1/logs?page_size=5', basic('dev', 'Dev12345678'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Log[];
    expect(body).toHaveLength(5);
    for (const l of body) expect(l.resource.startsWith('p1/') || l.resource === 'p1').toBe(true);
    expect(Number(res.headers.get('x-total-count'))).toBeGreaterThanOrEqual(seeded);
    // p2 has only its creation
    const p2 = await list('/api/v2.0/projects/p2/logs');
    expect(p2.body.map((l) => [l.operation, l.resource_type, l.resource])).toEqual([['create', 'project', 'p2']]);
    expect((await get('/api/v2.0/projects/p1/logs', basic('outsider', 'Out12345678'))).status).toBe(403);
    expect((await fetch(new URL('/api/v2.0/projects/p1/logs', s.url))).status).toBe(401);
    const missing = await get('/api/v2.0/projects/nope/logs');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NOT_FOUND');
  });

  it('exports a time range as NDJSON, oldest first, each line carrying what its hash covers', async () => {
    const res = await get('/api/v2.0/audit-logs/export?from=2024-01-01T01:00:00Z&to=2024-01-01T01:59:59Z');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as Log & { project_id: number; detail: unknown; prev_hash: string; hash: string });
    expect(lines.map((l) => l.op_time)).toEqual(Array.from({ length: 60 }, (_, k) => new Date(T0 + (60 + k) * MINUTE).toISOString()));
    // consecutive seeded records link, and each hash is recomputable from the exported fields
    for (let k = 0; k < lines.length; k++) {
      const l = lines[k]!;
      if (k > 0) expect(l.prev_hash).toBe(lines[k - 1]!.hash);
      const content = {
        op_time: Date.parse(l.op_time),
        username: l.username,
        operation: l.operation,
        resource_type: l.resource_type,
        resource: l.resource,
        project_id: l.project_id,
        source_ip: l.source_ip,
        result: l.result,
        detail: l.detail === null ? null : JSON.stringify(l.detail),
      };
      expect(auditHash(l.prev_hash, content)).toBe(l.hash);
    }
    expect((await get('/api/v2.0/audit-logs/export?from=yesterday')).status).toBe(400);
  });

  it('streams an export batch by batch and stops reading the database while the client does not read', async () => {
    // enough records that the export cannot all sit in socket buffers (~18 MB of NDJSON)
    const more = Array.from({ length: 60_000 }, (_, i) => ({ operator: 'volume', operation: 'pull', resourceType: 'artifact', resource: `volume/repository-${i}:tag`, result: 'success' as const, at: T0 - 2 * MINUTE }));
    await s.server.berth.metadata.audit.appendMany(more);
    const scan = vi.spyOn(s.server.berth.metadata.audit, 'scanByTime');
    try {
      const res = await get('/api/v2.0/audit-logs/export');
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      // the client stops reading: the server fills the socket's buffers and then waits
      let calls = -1;
      for (let steady = 0; steady < 3; ) {
        steady = calls === scan.mock.calls.length ? steady + 1 : 0;
        calls = scan.mock.calls.length;
        await new Promise((r) => setTimeout(r, 300));
      }
      const total = await s.server.berth.metadata.audit.countUpTo({}, 1e6);
      expect(calls).toBeLessThan(Math.ceil(total / 1000));
      for (const call of scan.mock.calls) expect(call[2]).toBeLessThanOrEqual(1000);
      // reading on gets everything
      let bytes = first.value!.length;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      expect(bytes).toBeGreaterThan(total * 100);
      expect(scan.mock.calls.length).toBeGreaterThanOrEqual(Math.ceil(total / 1000));
    } finally {
      scan.mockRestore();
    }
  });

  it('verifies the chain', async () => {
    const res = await get('/api/v2.0/audit-logs/verify');
    expect(res.status).toBe(200);
    const r = (await res.json()) as { ok: boolean; checked: number; anchor_known: boolean; broken?: unknown };
    expect(r).toMatchObject({ ok: true, anchor_known: true });
    expect(r.checked).toBe(await s.server.berth.metadata.audit.countUpTo({}, 1e6));
    expect(r.broken).toBeUndefined();
  });
});

describe('tampering', () => {
  let s: TestServer;
  let ids: number[];
  const db = () => new Database(join(s.dataDir, 'berth.db'));
  const verify = async (query = '') => {
    const res = await fetch(new URL(`/api/v2.0/audit-logs/verify${query}`, s.url), { headers: { authorization: s.adminBasic } });
    return (await res.json()) as { ok: boolean; broken?: { id: number; reason: string }; anchor_known: boolean; checked: number };
  };
  /** `berth audit verify`: its exit status and what it printed */
  const cli = async (opts: { from?: string; to?: string } = {}) => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
    try {
      return { code: await commandAudit(s.config, 'verify', opts), out: out.join('') };
    } finally {
      spy.mockRestore();
    }
  };

  beforeAll(async () => {
    s = await startTestServer();
    await s.server.berth.metadata.audit.appendMany(seed(50, 0));
    ids = (await s.server.berth.metadata.audit.list({}, { limit: 100, ascending: true })).items.map((r) => r.id);
  });
  afterAll(() => s.stop());

  it('detects an UPDATE of one record made through SQL, at that record', async () => {
    expect((await verify()).ok).toBe(true);
    expect((await cli()).code).toBe(0);
    const victim = ids[20]!;
    const conn = db();
    const { username } = conn.prepare('select username from audit_logs where id = ?').get(victim) as { username: string };
    conn.prepare(`update audit_logs set username = 'nobody' where id = ?`).run(victim);
    const r = await verify();
    expect(r).toMatchObject({ ok: false, broken: { id: victim, reason: 'hash' } });
    expect(r.checked).toBe(ids.indexOf(victim));
    const c = await cli();
    expect(c.code).toBe(1);
    expect(c.out).toContain(`BROKEN at record ${victim}`);
    // the records after the tampered one still check out on their own
    expect((await verify(`?from_id=${ids[21]}`)).ok).toBe(true);
    expect((await cli({ from: String(ids[21]) })).code).toBe(0);
    conn.prepare('update audit_logs set username = ? where id = ?').run(username, victim);
    conn.close();
    expect((await verify()).ok).toBe(true);
  });

  it('detects a record rewritten with a recomputed hash: the next link breaks', async () => {
    const conn = db();
    const victim = ids[30]!;
    const row = conn.prepare('select * from audit_logs where id = ?').get(victim) as Parameters<typeof auditHash>[1] & { prev_hash: string; hash: string };
    const forged = { ...row, resource: 'forged' };
    conn.prepare('update audit_logs set resource = ?, hash = ? where id = ?').run('forged', auditHash(row.prev_hash, forged), victim);
    expect(await verify()).toMatchObject({ ok: false, broken: { id: ids[31], reason: 'link' } });
    conn.prepare('update audit_logs set resource = ?, hash = ? where id = ?').run(row.resource, row.hash, victim);
    conn.close();
    expect((await verify()).ok).toBe(true);
  });

  it('detects a deleted record in the middle and records removed from the start', async () => {
    const conn = db();
    conn.prepare('delete from audit_logs where id = ?').run(ids[40]!);
    expect(await verify()).toMatchObject({ ok: false, broken: { id: ids[41], reason: 'link' } });
    // the start: the oldest record's prev_hash is then neither genesis nor a purge's anchor
    conn.prepare('delete from audit_logs where id <= ?').run(ids[45]!);
    conn.close();
    const r = await verify();
    expect(r).toMatchObject({ ok: false, anchor_known: false });
    expect((await cli()).out).toContain('BROKEN at its start');
  });
});

describe('retention', () => {
  let s: TestServer;
  const H = 3_600_000;
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, s.url), { ...init, headers: { authorization: s.adminBasic, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.stop());

  it("keeps everything by default and answers Harbor's purge schedule with the setting", async () => {
    expect(await s.server.berth.audit.retentionHours()).toBe(0);
    const res = await admin('/api/v2.0/system/purgeaudit/schedule');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { schedule: { type: string }; job_parameters: string };
    expect(body.schedule.type).toBe('None');
    expect(JSON.parse(body.job_parameters)).toMatchObject({ audit_retention_hour: 0 });
    expect(await s.server.berth.audit.purgeExpired()).toEqual({ deleted: 0 });
  });

  it('deletes only the expired prefix, records the purge with its anchor, and stays verifiable', async () => {
    const { berth } = s.server;
    const now = Date.now();
    const old = Array.from({ length: 12_000 }, (_, i) => ({ operator: 'old', operation: 'pull', resourceType: 'artifact', resource: `x:${i}`, result: 'success' as const, at: now }));
    await berth.metadata.audit.appendMany(old);
    // a fresh record, then an old one appended after it (a buffered pull can land late): the
    // purge stops at the fresh one and leaves the chain whole
    await berth.metadata.audit.appendMany([
      { operator: 'new', operation: 'pull', resourceType: 'artifact', resource: 'fresh', result: 'success', at: now + 80 * H },
      { operator: 'late', operation: 'pull', resourceType: 'artifact', resource: 'late-old', result: 'success', at: now },
    ]);
    const put = await admin('/api/v2.0/system/purgeaudit/schedule', {
      method: 'PUT',
      body: JSON.stringify({ schedule: { type: 'Hourly', cron: '0 0 * * * *' }, parameters: { audit_retention_hour: 48, dry_run: false } }),
    });
    expect(put.status).toBe(200);
    expect(await berth.audit.retentionHours()).toBe(48);
    // the retention task as it will run 100 hours from now
    const later = new AuditService({ metadata: berth.metadata, clock: { now: () => now + 100 * H } });
    const r = await later.purgeExpired();
    const left = (await berth.metadata.audit.list({}, { limit: 100, ascending: true })).items;
    expect(left[0]!.resource).toBe('fresh');
    expect(left.some((x) => x.operator === 'old')).toBe(false);
    expect(left.some((x) => x.resource === 'late-old')).toBe(true);
    expect(r.deleted).toBeGreaterThanOrEqual(12_000);
    const purges = left.filter((x) => x.operator === SYSTEM_OPERATOR && x.operation === 'purge');
    // one record per batch of 5,000, in the batch's transaction
    expect(purges.length).toBe(Math.ceil(r.deleted / 5000));
    expect(purges.reduce((n, p) => n + Number(p.detail!['deleted']), 0)).toBe(r.deleted);
    const v = await later.verify();
    expect(v).toMatchObject({ ok: true, anchorKnown: true });
    expect(v.anchor).not.toMatch(/^0+$/);
    // the retention change itself is audited
    expect(left.some((x) => x.operation === 'update' && x.resourceType === 'configuration' && x.resource === 'audit_log_retention_hours')).toBe(true);

    const history = await admin('/api/v2.0/system/purgeaudit');
    expect(history.status).toBe(200);
    const runs = (await history.json()) as { id: number; job_parameters: string }[];
    expect(runs).toHaveLength(purges.length);
    const one = await admin(`/api/v2.0/system/purgeaudit/${runs[0]!.id}`);
    expect(one.status).toBe(200);
    const log = await admin(`/api/v2.0/system/purgeaudit/${runs[0]!.id}/log`);
    expect(await log.text()).toMatch(/purged \d+ audit records/);
    expect((await admin('/api/v2.0/system/purgeaudit/999999999')).status).toBe(404);
  });

  it('turns retention off with schedule type None', async () => {
    const post = await admin('/api/v2.0/system/purgeaudit/schedule', { method: 'POST', body: JSON.stringify({ schedule: { type: 'None' } }) });
    expect(post.status).toBe(201);
    expect(await s.server.berth.audit.retentionHours()).toBe(0);
    const bad = await admin('/api/v2.0/system/purgeaudit/schedule', { method: 'PUT', body: JSON.stringify({ parameters: { audit_retention_hour: -1 } }) });
    expect(bad.status).toBe(400);
  });
});

describe('the chain on PostgreSQL', () => {
  let schema: TestSchema;
  let a: Metadata;
  let b: Metadata;

  beforeAll(async () => {
    schema = await createTestSchema();
    a = await openMetadata({ driver: 'postgres', url: schema.url, schema: schema.schema, poolSize: 8 });
    b = await openMetadata({ driver: 'postgres', url: schema.url, schema: schema.schema, poolSize: 8 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await schema?.drop();
  });

  it('stays one chain under concurrent appends from two instances, in and out of transactions', async () => {
    const event = (who: string, i: number): AuditEvent => ({ operator: who, operation: 'create', resourceType: 'artifact', resource: `r:${i}`, result: 'success', at: T0 + i });
    await Promise.all([
      ...Array.from({ length: 60 }, (_, i) => a.transaction((tx) => tx.audit.append(event('a', i)))),
      ...Array.from({ length: 60 }, (_, i) => b.audit.append(event('b', i))),
      ...Array.from({ length: 10 }, (_, i) => a.audit.appendMany([event('a-many', 2 * i), event('a-many', 2 * i + 1)])),
      ...Array.from({ length: 10 }, (_, i) => b.transaction((tx) => tx.audit.appendMany([event('b-many', 2 * i), event('b-many', 2 * i + 1)]))),
    ]);
    const r = await a.audit.verify({});
    expect(r).toMatchObject({ ok: true, checked: 160 });
    expect(r.anchor).toBe('0'.repeat(64));
  });

  it('detects an UPDATE of one record made through SQL', async () => {
    const [row] = await queryPostgres<{ id: string }>(`select id from "${schema.schema}".audit_logs order by id limit 1 offset 77`);
    await queryPostgres(`update "${schema.schema}".audit_logs set result = 'failure' where id = $1`, [row!.id]);
    expect(await a.audit.verify({})).toMatchObject({ ok: false, checked: 77, broken: { id: Number(row!.id), reason: 'hash' } });
    await queryPostgres(`update "${schema.schema}".audit_logs set result = 'success' where id = $1`, [row!.id]);
    expect((await a.audit.verify({})).ok).toBe(true);
  });

  it('filters, seeks, counts, estimates, exports and purges with the same results as on SQLite', async () => {
    const audit = new AuditService({ metadata: a, clock: { now: () => T0 + 1000 * MINUTE }, config: { purgeBatch: 50, countCap: 100 } });
    const page1 = await audit.list({ page: 1, pageSize: 40, ascending: false, resource: 'r:1' });
    expect(page1.items.every((x) => x.resource.includes('r:1'))).toBe(true);
    const all = await audit.list({ page: 1, pageSize: 1000, ascending: false });
    expect(all.items).toHaveLength(160);
    expect(all.estimated).toBe(true);
    expect(all.total).toBeGreaterThanOrEqual(101);
    const page3 = await audit.list({ page: 3, pageSize: 30, ascending: true });
    expect(page3.items.map((x) => x.id)).toEqual([...all.items].reverse().slice(60, 90).map((x) => x.id));
    const exported: number[] = [];
    for await (const x of audit.export({ from: T0 + 10, to: T0 + 19 }, 7)) exported.push(x.at);
    // a, b, a-many and b-many each have one record per millisecond 10..19, read 7 at a time
    expect(exported).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19].flatMap((k) => [k, k, k, k]).map((k) => T0 + k));
    await a.config.set({ audit_log_retention_hours: 1 }, T0);
    const r = await audit.purgeExpired();
    expect(r.deleted).toBe(160);
    const v = await audit.verify();
    expect(v).toMatchObject({ ok: true, anchorKnown: true, checked: 4 });
  });
});
