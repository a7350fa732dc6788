import { afterAll, describe, expect, it } from 'vitest';
import { openKysely } from './dialect.js';
import { PreparedQueries } from './prepared.js';

const db = openKysely({ driver: 'sqlite', path: ':memory:' });
afterAll(() => db.destroy());

describe('prepared queries', () => {
  it('binds values by name, whatever their order in the SQL', async () => {
    const prepared = new PreparedQueries(db);
    await db.schema.createTable('t').addColumn('a', 'integer').addColumn('b', 'text').execute();
    const insert = (a: number, b: string) =>
      prepared.execute(db, 'insert', (d, p) => d.insertInto('t' as never).values({ b: p('b'), a: p('a') } as never), { a, b });
    await insert(1, 'one');
    await insert(2, 'two');
    const row = await prepared.first(db, 'sel', (d, p) => d.selectFrom('t' as never).selectAll().where('b' as never, '=', p('b')).where('a' as never, '=', p('a')), { a: 2, b: 'two' });
    expect(row).toEqual({ a: 2, b: 'two' });
    expect(await prepared.first(db, 'sel', () => { throw new Error('not rebuilt'); }, { a: 1, b: 'two' })).toBeUndefined();
  });

  it('refuses a literal value and a missing value', async () => {
    const prepared = new PreparedQueries(db);
    await expect(prepared.first(db, 'lit', (d) => d.selectFrom('t' as never).selectAll().where('a' as never, '=', 1 as never), {})).rejects.toThrow(/literal value/);
    await expect(prepared.first(db, 'miss', (d, p) => d.selectFrom('t' as never).selectAll().where('a' as never, '=', p('a')), {})).rejects.toThrow(/needs a value for a/);
  });
});
