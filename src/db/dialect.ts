import { type DatabaseIntrospector, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DB } from './schema.js';
import { CurrentSchemaIntrospector } from './schema-introspector.js';
import { startCheckpointer } from './sqlite-checkpointer.js';

export type Dialect = 'sqlite' | 'postgres';

export type DatabaseOptions =
  | { driver: 'sqlite'; path: string }
  | { driver: 'postgres'; url: string; poolSize?: number; schema?: string };

/** A plain identifier: it goes unquoted into the connection's startup options. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const INT8_OID = 20;

/** A number, or an error rather than a silently rounded one. */
function parseInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${v} is beyond 2^53`);
  return n;
}

/** what closing a database waits for beyond Kysely's destroy (SQLite's checkpoint thread) */
const closing = new WeakMap<Kysely<DB>, () => Promise<void>>();

/**
 * Closes a database opened by `openKysely` and waits until nothing of it touches its files any
 * more: Kysely's destroy does not wait for SQLite's checkpoint thread.
 */
export async function closeKysely(db: Kysely<DB>): Promise<void> {
  await db.destroy();
  await closing.get(db)?.();
}

export function openKysely(opts: DatabaseOptions): Kysely<DB> {
  if (opts.driver === 'sqlite') {
    const sqlite = new Database(opts.path);
    // WAL: readers never block the writer; NORMAL: a process crash loses nothing committed,
    // only an OS crash may lose the last transactions (never corrupts the file).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // in-memory databases (tests) have no WAL to checkpoint
    const stopCheckpoints = opts.path === ':memory:' ? () => Promise.resolve() : startCheckpointer(opts.path);
    sqlite.pragma('wal_autocheckpoint = 20000');
    const database = withStatementCache(sqlite);
    let checkpointerStopped: Promise<void> = Promise.resolve();
    const db = new Kysely<DB>({
      dialect: new SqliteDialect({
        database: {
          prepare: (q: string) => database.prepare(q),
          close: () => {
            checkpointerStopped = stopCheckpoints();
            database.close();
          },
        },
      }),
    });
    closing.set(db, () => checkpointerStopped);
    return db;
  }
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new Error(`database schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(opts.schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    // int8 comes back as a string by default; every bigint here (count(*) included) is a
    // size, an id or epoch milliseconds, all within 2^53
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
    // every statement of every connection, migrations included, resolves names in the schema
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // an idle client whose connection drops (server restart, failover) is removed from the pool
  // and the next query opens a new one; without a listener the 'error' event kills the process
  pool.on('error', () => undefined);
  return new Kysely<DB>({ dialect: new CurrentSchemaPostgresDialect({ pool }) });
}

/**
 * Kysely prepares every query anew; preparing costs more than running the indexed lookups of
 * the hot paths (manifest HEAD). Statements are reused by SQL text: Kysely runs one query at a
 * time on the connection, so a statement is never in use twice at once.
 */
function withStatementCache(sqlite: Database.Database): { close(): void; prepare(sql: string): Database.Statement } {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let s = statements.get(sql);
      if (!s) {
        s = sqlite.prepare(sql);
        // queries are built from a fixed set of shapes; the bound keeps an unexpected
        // variety (IN lists of many lengths) from growing the map without end
        if (statements.size >= 2000) statements.clear();
        statements.set(sql, s);
      }
      return s;
    },
  };
}

class CurrentSchemaPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new CurrentSchemaIntrospector(db);
  }
}
