import type { Kysely, Selectable } from 'kysely';
import type { GroupRepo, GroupType, UserGroup } from '../../ports/identity-repos.js';
import type { Page } from '../../ports/metadata.js';
import type { DB, UserGroupsTable } from '../schema.js';

const toGroup = (r: Selectable<UserGroupsTable>): UserGroup => ({
  id: r.id,
  name: r.group_name,
  type: r.group_type as GroupType,
  ldapGroupDn: r.ldap_group_dn,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyGroupRepo implements GroupRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async groupIdsOf(userId: number): Promise<number[]> {
    const rows = await this.db.selectFrom('user_group_links').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }

  async ensure(g: { name: string; type: GroupType; ldapGroupDn?: string; now: number }): Promise<UserGroup> {
    const dn = g.ldapGroupDn ?? '';
    const find = () =>
      this.db
        .selectFrom('user_groups')
        .selectAll()
        .where('group_type', '=', g.type)
        .where('group_name', '=', g.name)
        .where('ldap_group_dn', '=', dn)
        .executeTakeFirst();
    const existing = await find();
    if (existing) return toGroup(existing);
    await this.db
      .insertInto('user_groups')
      .values({ group_name: g.name, group_type: g.type, ldap_group_dn: dn, created_at: g.now, updated_at: g.now })
      .onConflict((oc) => oc.columns(['group_type', 'group_name', 'ldap_group_dn']).doNothing())
      .execute();
    return toGroup((await find())!);
  }

  async setMemberships(userId: number, groupIds: readonly number[]): Promise<void> {
    await this.db.deleteFrom('user_group_links').where('user_id', '=', userId).execute();
    const ids = [...new Set(groupIds)];
    if (ids.length) await this.db.insertInto('user_group_links').values(ids.map((group_id) => ({ user_id: userId, group_id }))).execute();
  }

  async get(id: number): Promise<UserGroup | undefined> {
    const r = await this.db.selectFrom('user_groups').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toGroup(r);
  }

  async list(filter: { name?: string; type?: GroupType; ldapGroupDn?: string }, page: { offset: number; limit: number }): Promise<Page<UserGroup>> {
    let q = this.db.selectFrom('user_groups');
    if (filter.name) q = q.where((eb) => eb(eb.fn('lower', ['group_name']), 'like', `%${filter.name!.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    if (filter.type !== undefined) q = q.where('group_type', '=', filter.type);
    if (filter.ldapGroupDn !== undefined) q = q.where('ldap_group_dn', '=', filter.ldapGroupDn);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('id').limit(page.limit).offset(page.offset).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toGroup), total: Number(count.n) };
  }

  async rename(id: number, name: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('user_groups').set({ group_name: name, updated_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    await this.db.deleteFrom('project_members').where('entity_type', '=', 'g').where('entity_id', '=', id).execute();
    await this.db.deleteFrom('user_group_links').where('group_id', '=', id).execute();
    const r = await this.db.deleteFrom('user_groups').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
