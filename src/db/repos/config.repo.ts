import type { Kysely } from 'kysely';
import type { ConfigRepo } from '../../ports/identity-repos.js';
import type { DB } from '../schema.js';

export class KyselyConfigRepo implements ConfigRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async all(): Promise<Record<string, unknown>> {
    const rows = await this.db.selectFrom('configurations').select(['key', 'value']).execute();
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  }

  async get(key: string): Promise<unknown> {
    const r = await this.db.selectFrom('configurations').select('value').where('key', '=', key).executeTakeFirst();
    return r === undefined ? undefined : (JSON.parse(r.value) as unknown);
  }

  async set(values: Record<string, unknown>, now: number): Promise<void> {
    for (const [key, v] of Object.entries(values)) {
      const value = JSON.stringify(v);
      await this.db
        .insertInto('configurations')
        .values({ key, value, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
        .execute();
    }
  }
}
