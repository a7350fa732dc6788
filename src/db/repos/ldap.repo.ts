import type { Kysely, Selectable } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { User } from '../../domain/records.js';
import type { LdapIdentity, LdapRepo } from '../../ports/ldap-repo.js';
import { isUniqueViolation } from '../errors.js';
import type { DB, LdapUsersTable } from '../schema.js';
import { COLUMNS, toUser } from './users.repo.js';

const toIdentity = (r: Selectable<LdapUsersTable>): LdapIdentity => ({
  userId: r.user_id,
  dn: r.dn,
  adminByGroup: r.admin_by_group === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyLdapRepo implements LdapRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async findByDn(dn: string): Promise<{ user: User; identity: LdapIdentity } | undefined> {
    const identity = await this.db.selectFrom('ldap_users').selectAll().where('dn', '=', dn).executeTakeFirst();
    if (!identity) return undefined;
    const user = await this.db.selectFrom('users').select(COLUMNS).where('id', '=', identity.user_id).executeTakeFirst();
    return user && { user: toUser(user), identity: toIdentity(identity) };
  }

  async getByUserId(userId: number): Promise<LdapIdentity | undefined> {
    const r = await this.db.selectFrom('ldap_users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r && toIdentity(r);
  }

  async onboard(u: Parameters<LdapRepo['onboard']>[0]): Promise<User> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({
          username: u.username,
          password_hash: u.passwordHash,
          email: u.email,
          realname: u.realname,
          comment: '',
          sysadmin: u.sysadmin ? 1 : 0,
          created_at: u.now,
          updated_at: u.now,
          auth_source: 'ldap',
          external_id: u.dn,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      await this.db
        .insertInto('ldap_users')
        .values({ user_id: row.id, dn: u.dn, admin_by_group: u.adminByGroup ? 1 : 0, created_at: u.now, updated_at: u.now })
        .execute();
      return toUser(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`username ${u.username} or its directory entry is already taken`, { username: u.username });
      throw e;
    }
  }

  async sync(userId: number, s: Parameters<LdapRepo['sync']>[1]): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ email: s.email, realname: s.realname, external_id: s.dn, sysadmin: s.sysadmin ? 1 : 0, updated_at: s.now })
      .where('id', '=', userId)
      .execute();
    const admin = s.adminByGroup ? 1 : 0;
    await this.db
      .insertInto('ldap_users')
      .values({ user_id: userId, dn: s.dn, admin_by_group: admin, created_at: s.now, updated_at: s.now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ dn: s.dn, admin_by_group: admin, updated_at: s.now }))
      .execute();
  }
}
