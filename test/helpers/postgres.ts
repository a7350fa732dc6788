import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The project's test PostgreSQL (trust auth); BERTH_TEST_POSTGRES_URL points elsewhere. */
export const POSTGRES_URL = process.env['BERTH_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  url: string;
  schema: string;
  /** drops the schema and everything in it; safe to call twice */
  drop(): Promise<void>;
}

/** A name no other run uses: tests in parallel workers and other engineers share the database. */
export function freshSchemaName(): string {
  return `berth_test_${randomBytes(6).toString('hex')}`;
}

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A schema of its own for one test run, dropped afterwards. `create: false` leaves creating it to
 * Berth (its migrator creates a missing schema), to test that path.
 */
export async function createTestSchema(opts: { create?: boolean } = {}): Promise<TestSchema> {
  const schema = freshSchemaName();
  if (opts.create ?? true) await withClient((c) => c.query(`create schema "${schema}"`));
  let dropped = false;
  return {
    url: POSTGRES_URL,
    schema,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient((c) => c.query(`drop schema if exists "${schema}" cascade`));
    },
  };
}

/** One query on its own connection, for tests that look at what Berth left in the database. */
export function queryPostgres<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  return withClient(async (c) => (await c.query<R>(text, values)).rows);
}
