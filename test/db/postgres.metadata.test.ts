import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openKysely } from '../../src/db/dialect.js';
import { openMetadata } from '../../src/db/metadata.js';
import type { Metadata } from '../../src/ports/metadata.js';
import { createTestSchema, queryPostgres, type TestSchema } from '../helpers/postgres.js';
import { describeMetadata } from '../suites/metadata.suite.js';
import { MIGRATION_NAMES } from '../../src/db/migrator.js';

describeMetadata('postgres', async () => {
  const s = await createTestSchema();
  const opts = { driver: 'postgres', url: s.url, schema: s.schema, poolSize: 8 } as const;
  const metadata = await openMetadata(opts);
  const raw = openKysely({ ...opts, poolSize: 1 });
  return {
    metadata,
    edges: async (manifestId) => ({
      blobs: (await raw.selectFrom('manifest_blobs').select('digest').where('manifest_id', '=', manifestId).execute()).map((r) => r.digest),
      children: (await raw.selectFrom('manifest_children').select('child_digest').where('manifest_id', '=', manifestId).execute()).map((r) => r.child_digest),
    }),
    cleanup: async () => {
      await raw.destroy();
      await metadata.close();
      await s.drop();
    },
  };
});

describe('postgres schema isolation and migration', () => {
  const schemas: TestSchema[] = [];
  const opened: Metadata[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((m) => m.close()));
    await Promise.all(schemas.map((s) => s.drop()));
  });
  async function schema(create: boolean): Promise<TestSchema> {
    const s = await createTestSchema({ create });
    schemas.push(s);
    return s;
  }
  async function open(s: TestSchema): Promise<Metadata> {
    const m = await openMetadata({ driver: 'postgres', url: s.url, schema: s.schema, poolSize: 2 });
    opened.push(m);
    return m;
  }
  /** the tables a fresh SQLite database has after all migrations */
  async function sqliteTables(): Promise<string[]> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tables-'));
    const m = await openMetadata({ driver: 'sqlite', path: join(dir, 'berth.db') });
    await m.close();
    const db = new Database(join(dir, 'berth.db'), { readonly: true });
    try {
      return (db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[])
        .map((r) => r.name)
        .sort();
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const tablesOf = async (schemaName: string) =>
    (await queryPostgres<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1 order by table_name', [schemaName])).map(
      (r) => r.table_name,
    );

  it('puts every table, Kysely migration tables included, in the configured schema', async () => {
    const s = await schema(true);
    await open(s);
    // the same migrations make the same tables on both dialects, and none of them lands elsewhere
    expect((await tablesOf(s.schema)).sort()).toEqual(await sqliteTables());
    const ran = await queryPostgres<{ name: string }>(`select name from "${s.schema}".berth_migration`);
    expect(ran.map((r) => r.name)).toEqual(MIGRATION_NAMES);
  });

  it('migrates a schema of its own while another schema of the database is already migrated', async () => {
    const first = await schema(true);
    const second = await schema(true);
    const a = await open(first);
    const b = await open(second);
    await a.projects.create({ name: 'only-in-a', public: false, ownerId: null, now: 1 });
    expect(await b.projects.getByName('only-in-a')).toBeUndefined();
    expect(await tablesOf(second.schema)).toContain('berth_migration');
  });

  it('creates a missing schema before migrating into it', async () => {
    const s = await schema(false);
    const m = await open(s);
    expect(await tablesOf(s.schema)).toContain('manifests');
    await m.projects.create({ name: 'p', public: false, ownerId: null, now: 1 });
    const rows = await queryPostgres<{ name: string }>(`select name from "${s.schema}".projects`);
    expect(rows).toEqual([{ name: 'p' }]);
  });

  it('lets instances that start at the same moment migrate once and all come up', async () => {
    for (const create of [false, true]) {
      const s = await schema(create);
      const instances = await Promise.all(Array.from({ length: 4 }, () => open(s)));
      const ran = await queryPostgres<{ name: string }>(`select name from "${s.schema}".berth_migration`);
      expect(ran.map((r) => r.name)).toEqual(MIGRATION_NAMES);
      await instances[0]!.projects.create({ name: 'shared', public: true, ownerId: null, now: 1 });
      for (const m of instances) expect((await m.projects.getByName('shared'))?.public).toBe(true);
      // a later start finds nothing to do
      await open(s);
      expect(await queryPostgres(`select name from "${s.schema}".berth_migration`)).toHaveLength(MIGRATION_NAMES.length);
    }
  });

  it('starts while other schemas of the shared database come and go', async () => {
    let churning = true;
    const churn = async () => {
      while (churning) {
        const other = await createTestSchema();
        await queryPostgres(`create table "${other.schema}".t (id int)`);
        await other.drop();
      }
    };
    const churners = [churn(), churn()];
    try {
      for (let i = 0; i < 8; i++) await open(await schema(i % 2 === 0));
    } finally {
      churning = false;
      await Promise.all(churners);
    }
  });

  it('reads int8 as numbers and refuses to round one beyond 2^53', async () => {
    const s = await schema(true);
    const m = await open(s);
    await m.blobs.put('sha256:big', 2 ** 40, 1);
    expect(await queryPostgres(`select size from "${s.schema}".blobs`)).toEqual([{ size: String(2 ** 40) }]);
    expect((await m.blobs.get('sha256:big'))?.size).toBe(2 ** 40);
    await queryPostgres(`update "${s.schema}".blobs set size = 9007199254740993`);
    await expect(m.blobs.get('sha256:big')).rejects.toThrow(/beyond 2\^53/);
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openMetadata({ driver: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', schema: 'x; drop' })).rejects.toThrow(/schema must match/);
  });
});
