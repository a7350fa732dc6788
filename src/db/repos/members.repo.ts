import type { Kysely } from 'kysely';
import { conflict } from '../../domain/errors.js';
import { type Role, ROLE_IDS, roleOfId } from '../../domain/permission.js';
import type { MemberRepo, ProjectMember } from '../../ports/identity-repos.js';
import type { Page } from '../../ports/metadata.js';
import { isUniqueViolation } from '../errors.js';
import type { DB } from '../schema.js';

interface Row {
  id: number;
  project_id: number;
  entity_type: string;
  entity_id: number;
  role: number;
  created_at: number;
  updated_at: number;
  entity_name: string | null;
}

const toMember = (r: Row): ProjectMember => ({
  id: r.id,
  projectId: r.project_id,
  entityType: r.entity_type === 'g' ? 'g' : 'u',
  entityId: r.entity_id,
  entityName: r.entity_name ?? '',
  role: roleOfId(r.role) ?? 'guest',
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyMemberRepo implements MemberRepo {
  constructor(private readonly db: Kysely<DB>) {}

  private base() {
    return this.db
      .selectFrom('project_members as m')
      .leftJoin('users as u', (j) => j.onRef('u.id', '=', 'm.entity_id').on('m.entity_type', '=', 'u'))
      .leftJoin('user_groups as g', (j) => j.onRef('g.id', '=', 'm.entity_id').on('m.entity_type', '=', 'g'))
      .select((eb) => [
        'm.id',
        'm.project_id',
        'm.entity_type',
        'm.entity_id',
        'm.role',
        'm.created_at',
        'm.updated_at',
        eb.fn.coalesce('u.username', 'g.group_name').as('entity_name'),
      ]);
  }

  async rolesOf(projectId: number, userId: number, groupIds: readonly number[]): Promise<Role[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('role')
      .where('project_id', '=', projectId)
      .where((eb) =>
        eb.or([
          eb.and([eb('entity_type', '=', 'u'), eb('entity_id', '=', userId)]),
          ...(groupIds.length ? [eb.and([eb('entity_type', '=', 'g'), eb('entity_id', 'in', [...groupIds])])] : []),
        ]),
      )
      .execute();
    return [...new Set(rows.map((r) => roleOfId(r.role)).filter((r): r is Role => r !== undefined))];
  }

  async projectIdsOf(userId: number, groupIds: readonly number[]): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('project_id')
      .distinct()
      .where((eb) =>
        eb.or([
          eb.and([eb('entity_type', '=', 'u'), eb('entity_id', '=', userId)]),
          ...(groupIds.length ? [eb.and([eb('entity_type', '=', 'g'), eb('entity_id', 'in', [...groupIds])])] : []),
        ]),
      )
      .execute();
    return rows.map((r) => r.project_id);
  }

  async add(m: { projectId: number; entityType: 'u' | 'g'; entityId: number; role: Role; now: number }): Promise<ProjectMember> {
    try {
      const r = await this.db
        .insertInto('project_members')
        .values({ project_id: m.projectId, entity_type: m.entityType, entity_id: m.entityId, role: ROLE_IDS[m.role], created_at: m.now, updated_at: m.now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return (await this.get(m.projectId, r.id))!;
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('the member already exists in the project', { entityType: m.entityType, entityId: m.entityId });
      throw e;
    }
  }

  async get(projectId: number, memberId: number): Promise<ProjectMember | undefined> {
    const r = await this.base().where('m.project_id', '=', projectId).where('m.id', '=', memberId).executeTakeFirst();
    return r && toMember(r as Row);
  }

  async list(projectId: number, opts: { entityName?: string; offset: number; limit: number }): Promise<Page<ProjectMember>> {
    let q = this.base().where('m.project_id', '=', projectId);
    if (opts.entityName) {
      const pattern = `%${opts.entityName.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      q = q.where((eb) => eb.or([eb(eb.fn('lower', ['u.username']), 'like', pattern), eb(eb.fn('lower', ['g.group_name']), 'like', pattern)]));
    }
    const [rows, count] = await Promise.all([
      q.orderBy('m.id').limit(opts.limit).offset(opts.offset).execute(),
      q.clearSelect().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { total: Number(count.n), items: (rows as Row[]).map(toMember) };
  }

  async updateRole(projectId: number, memberId: number, role: Role, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('project_members')
      .set({ role: ROLE_IDS[role], updated_at: now })
      .where('project_id', '=', projectId)
      .where('id', '=', memberId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async remove(projectId: number, memberId: number): Promise<boolean> {
    const r = await this.db.deleteFrom('project_members').where('project_id', '=', projectId).where('id', '=', memberId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async countByRole(projectId: number): Promise<Record<Role, number>> {
    const rows = await this.db
      .selectFrom('project_members')
      .select((eb) => ['role', eb.fn.countAll<number>().as('n')])
      .where('project_id', '=', projectId)
      .groupBy('role')
      .execute();
    const out = Object.fromEntries(Object.keys(ROLE_IDS).map((r) => [r, 0])) as Record<Role, number>;
    for (const r of rows) {
      const role = roleOfId(Number(r.role));
      if (role) out[role] = Number(r.n);
    }
    return out;
  }
}
