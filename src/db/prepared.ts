import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { DB } from './schema.js';

/** Names a parameter of a prepared query; the sentinel it returns stands for the value. */
export type Param = (name: string) => never;

const SENTINEL = '\u0000berth-param:';
const param: Param = (name) => `${SENTINEL}${name}` as never;

interface Prepared {
  query: CompiledQuery;
  names: string[];
}

/**
 * Hot-path queries compiled once: building and compiling a Kysely query costs more than the
 * indexed lookup or single-row write itself. `build` is called once, with the root database and
 * `p(name)` in place of every value; each call then runs the same SQL, on the given database or
 * transaction, with the values bound by name, so their order in the SQL does not matter.
 */
export class PreparedQueries {
  private readonly compiled = new Map<string, Prepared>();

  constructor(private readonly root: Kysely<DB>) {}

  async first<R>(db: Kysely<DB>, key: string, build: (db: Kysely<DB>, p: Param) => Compilable<R>, values: Record<string, unknown>): Promise<R | undefined> {
    return (await this.execute(db, key, build, values)).rows[0];
  }

  async execute<R>(db: Kysely<DB>, key: string, build: (db: Kysely<DB>, p: Param) => Compilable<R>, values: Record<string, unknown>): Promise<QueryResult<R>> {
    let prepared = this.compiled.get(key);
    if (!prepared) {
      const query = build(this.root, param).compile();
      const names = query.parameters.map((v) => {
        if (typeof v !== 'string' || !v.startsWith(SENTINEL)) throw new Error(`prepared query ${key} has a literal value; name it with p()`);
        return v.slice(SENTINEL.length);
      });
      prepared = { query, names };
      this.compiled.set(key, prepared);
    }
    const parameters = prepared.names.map((n) => {
      if (!Object.hasOwn(values, n)) throw new Error(`prepared query ${key} needs a value for ${n}`);
      return values[n];
    });
    return db.executeQuery<R>({ ...prepared.query, parameters } as CompiledQuery<R>);
  }
}
