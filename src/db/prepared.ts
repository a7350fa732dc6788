import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { DB } from './schema.js';

/**
 * Hot-path lookups (manifest HEAD/GET, repository by name, blob in repository, user by name)
 * compiled once: building and compiling a Kysely query costs more than the indexed lookup
 * itself. `build` is called once with the root database and placeholder values; every call
 * then runs the same SQL, on the given database or transaction, with its own parameters in the
 * order the builder bound them.
 */
export class PreparedQueries {
  private readonly compiled = new Map<string, CompiledQuery>();

  constructor(private readonly root: Kysely<DB>) {}

  async first<R>(db: Kysely<DB>, key: string, build: (db: Kysely<DB>) => Compilable<R>, params: readonly unknown[]): Promise<R | undefined> {
    let q = this.compiled.get(key);
    if (!q) {
      q = build(this.root).compile();
      if (q.parameters.length !== params.length) {
        throw new Error(`prepared query ${key} binds ${q.parameters.length} parameters, the call gives ${params.length}`);
      }
      this.compiled.set(key, q);
    }
    const res = await db.executeQuery<R>({ ...q, parameters: params } as CompiledQuery<R>);
    return res.rows[0];
  }
}
