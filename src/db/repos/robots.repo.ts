import type { Kysely, Selectable } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { RobotPermission } from '../../domain/permission.js';
import type { RobotRecord, RobotRepo } from '../../ports/identity-repos.js';
import type { Page } from '../../ports/metadata.js';
import { isUniqueViolation } from '../errors.js';
import type { DB, RobotsTable } from '../schema.js';

const toRobot = (r: Selectable<RobotsTable>): RobotRecord => ({
  id: r.id,
  name: r.name,
  description: r.description,
  level: r.level === 'system' ? 'system' : 'project',
  projectId: r.project_id,
  durationDays: r.duration_days,
  expiresAt: r.expires_at,
  disabled: r.disabled === 1,
  creator: r.creator,
  permissions: JSON.parse(r.permissions) as RobotPermission[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyRobotRepo implements RobotRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async create(r: Parameters<RobotRepo['create']>[0]): Promise<RobotRecord> {
    try {
      const row = await this.db
        .insertInto('robots')
        .values({
          name: r.name,
          description: r.description,
          secret_hash: r.secretHash,
          level: r.level,
          project_id: r.projectId,
          duration_days: r.durationDays,
          expires_at: r.expiresAt,
          disabled: r.disabled ? 1 : 0,
          creator: r.creator,
          permissions: JSON.stringify(r.permissions),
          created_at: r.now,
          updated_at: r.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRobot(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`the robot account ${r.name} already exists`, { name: r.name });
      throw e;
    }
  }

  async getById(id: number): Promise<RobotRecord | undefined> {
    const r = await this.db.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRobot(r);
  }

  async getWithSecret(name: string): Promise<{ robot: RobotRecord; secretHash: string } | undefined> {
    const r = await this.db.selectFrom('robots').selectAll().where('name', '=', name).executeTakeFirst();
    return r && { robot: toRobot(r), secretHash: r.secret_hash };
  }

  async list(filter: { level?: 'system' | 'project'; projectId?: number; name?: string }, page: { offset: number; limit: number }): Promise<Page<RobotRecord>> {
    let q = this.db.selectFrom('robots');
    if (filter.level) q = q.where('level', '=', filter.level);
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.name) q = q.where((eb) => eb(eb.fn('lower', ['name']), 'like', `%${filter.name!.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('id').limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toRobot), total: Number(count.n) };
  }

  async update(id: number, patch: Parameters<RobotRepo['update']>[1]): Promise<boolean> {
    const r = await this.db
      .updateTable('robots')
      .set({
        updated_at: patch.now,
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled ? 1 : 0 } : {}),
        ...(patch.durationDays !== undefined ? { duration_days: patch.durationDays } : {}),
        ...(patch.expiresAt !== undefined ? { expires_at: patch.expiresAt } : {}),
        ...(patch.permissions !== undefined ? { permissions: JSON.stringify(patch.permissions) } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setSecret(id: number, secretHash: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('robots').set({ secret_hash: secretHash, updated_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('robots').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
