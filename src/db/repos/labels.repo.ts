import type { Kysely, Selectable } from 'kysely';
import { sql } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { Label, LabelFilter, LabelRepo } from '../../ports/catalog-repos.js';
import type { Page } from '../../ports/metadata.js';
import { isUniqueViolation } from '../errors.js';
import { nameMatches } from '../name-match.js';
import type { DB, LabelsTable } from '../schema.js';

const toLabel = (r: Selectable<LabelsTable>): Label => ({
  id: r.id,
  name: r.name,
  description: r.description,
  color: r.color,
  scope: r.scope === 'p' ? 'p' : 'g',
  projectId: r.project_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const taken = (name: string) => conflict(`a label named ${name} exists already in this scope`, { name });

export class KyselyLabelRepo implements LabelRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async create(l: { name: string; description: string; color: string; scope: 'g' | 'p'; projectId: number; now: number }): Promise<Label> {
    try {
      const row = await this.db
        .insertInto('labels')
        .values({ name: l.name, description: l.description, color: l.color, scope: l.scope, project_id: l.projectId, created_at: l.now, updated_at: l.now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toLabel(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw taken(l.name);
      throw e;
    }
  }

  async get(id: number): Promise<Label | undefined> {
    const r = await this.db.selectFrom('labels').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toLabel(r);
  }

  async list(f: LabelFilter, page: { offset: number; limit: number }): Promise<Page<Label>> {
    let q = this.db.selectFrom('labels').where('scope', '=', f.scope);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    const name = f.name;
    if (name) q = q.where((eb) => nameMatches(eb, sql.ref<string>('name'), name));
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('name').orderBy('id').limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toLabel), total: Number(count.n) };
  }

  async update(id: number, patch: { name?: string; description?: string; color?: string; now: number }): Promise<Label | undefined> {
    try {
      const row = await this.db
        .updateTable('labels')
        .set({
          updated_at: patch.now,
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(patch.color !== undefined ? { color: patch.color } : {}),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row && toLabel(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw taken(patch.name ?? '');
      throw e;
    }
  }

  async delete(id: number): Promise<boolean> {
    await this.db.deleteFrom('artifact_labels').where('label_id', '=', id).execute();
    const r = await this.db.deleteFrom('labels').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async attach(manifestId: number, labelId: number, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('artifact_labels')
      .values({ manifest_id: manifestId, label_id: labelId, created_at: now })
      .onConflict((oc) => oc.columns(['manifest_id', 'label_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async detach(manifestId: number, labelId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('artifact_labels').where('manifest_id', '=', manifestId).where('label_id', '=', labelId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async labelsOf(manifestIds: readonly number[]): Promise<Map<number, Label[]>> {
    const out = new Map<number, Label[]>();
    for (let i = 0; i < manifestIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifact_labels as al')
        .innerJoin('labels as l', 'l.id', 'al.label_id')
        .selectAll('l')
        .select('al.manifest_id')
        .where('al.manifest_id', 'in', manifestIds.slice(i, i + 500))
        .orderBy('al.created_at')
        .orderBy('l.id')
        .execute();
      for (const r of rows) {
        const list = out.get(r.manifest_id) ?? [];
        list.push(toLabel(r));
        out.set(r.manifest_id, list);
      }
    }
    return out;
  }
}
