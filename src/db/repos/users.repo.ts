import { type Kysely, type Selectable, sql } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { User } from '../../domain/records.js';
import type { Page, UserFilter, UserRepo, UserSort } from '../../ports/metadata.js';
import { isUniqueViolation } from '../errors.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB, UsersTable } from '../schema.js';

export const COLUMNS = ['id', 'username', 'email', 'realname', 'comment', 'sysadmin', 'created_at', 'updated_at', 'auth_source', 'external_id'] as const;

export const toUser = (r: Pick<Selectable<UsersTable>, (typeof COLUMNS)[number]>): User => ({
  id: r.id,
  username: r.username,
  email: r.email,
  realname: r.realname,
  comment: r.comment,
  sysadmin: r.sysadmin === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  authSource: r.auth_source === 'ldap' || r.auth_source === 'oidc' ? r.auth_source : 'db',
  externalId: r.external_id,
});

export class KyselyUserRepo implements UserRepo {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly prepared: PreparedQueries,
  ) {}

  async create(u: Parameters<UserRepo['create']>[0]): Promise<User> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({
          username: u.username,
          password_hash: u.passwordHash,
          email: u.email ?? '',
          realname: u.realname ?? '',
          comment: u.comment ?? '',
          sysadmin: u.sysadmin ? 1 : 0,
          created_at: u.now,
          updated_at: u.now,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toUser(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`username ${u.username} is already taken`, { username: u.username });
      throw e;
    }
  }

  async getByUsername(username: string): Promise<User | undefined> {
    const r = await this.db.selectFrom('users').select(COLUMNS).where('username', '=', username).executeTakeFirst();
    return r && toUser(r);
  }

  async getWithPasswordHash(username: string): Promise<{ user: User; passwordHash: string } | undefined> {
    const r = await this.prepared.first(
      this.db,
      'users.getWithPasswordHash',
      (db, p) => db.selectFrom('users').select([...COLUMNS, 'password_hash']).where('username', '=', p('username')),
      { username },
    );
    return r && { user: toUser(r), passwordHash: r.password_hash };
  }

  async cliSecretHash(userId: number): Promise<string | null> {
    const r = await this.db.selectFrom('users').select('cli_secret_hash').where('id', '=', userId).executeTakeFirst();
    return r?.cli_secret_hash ?? null;
  }

  async getById(id: number): Promise<User | undefined> {
    const r = await this.db.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  async passwordHash(userId: number): Promise<string | undefined> {
    const r = await this.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
    return r?.password_hash;
  }

  async setPassword(userId: number, passwordHash: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', userId).execute();
  }

  async list(f: UserFilter, page: { offset: number; limit: number; sort?: UserSort }): Promise<Page<User>> {
    let q = this.db.selectFrom('users');
    if (f.username !== undefined) q = q.where('username', '=', f.username);
    if (f.email !== undefined) q = q.where('email', '=', f.email);
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
    if (f.usernameLike !== undefined) q = q.where(sql<boolean>`lower(username) like lower(${likePattern(f.usernameLike)}) escape '\\'`);
    if (f.emailLike !== undefined) q = q.where(sql<boolean>`lower(email) like lower(${likePattern(f.emailLike)}) escape '\\'`);
    const sort = page.sort ?? { by: 'username', desc: false };
    const column = SORT_COLUMNS[sort.by];
    const [rows, count] = await Promise.all([
      q
        .select(COLUMNS)
        .orderBy(column, sort.desc ? 'desc' : 'asc')
        .orderBy('id')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toUser), total: Number(count.n) };
  }

  async update(id: number, patch: { email?: string; realname?: string; comment?: string; now: number }): Promise<boolean> {
    const r = await this.db
      .updateTable('users')
      .set({
        updated_at: patch.now,
        ...(patch.email !== undefined ? { email: patch.email } : {}),
        ...(patch.realname !== undefined ? { realname: patch.realname } : {}),
        ...(patch.comment !== undefined ? { comment: patch.comment } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setSysadmin(id: number, sysadmin: boolean, now: number): Promise<boolean> {
    const r = await this.db.updateTable('users').set({ sysadmin: sysadmin ? 1 : 0, updated_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    // project_members.entity_id names a user or a group, so it has no foreign key to cascade
    await this.db.deleteFrom('project_members').where('entity_type', '=', 'u').where('entity_id', '=', id).execute();
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async count(f: { sysadmin?: boolean }): Promise<number> {
    let q = this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'));
    if (f.sysadmin !== undefined) q = q.where('sysadmin', '=', f.sysadmin ? 1 : 0);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  async emailTaken(email: string, exceptId?: number): Promise<boolean> {
    let q = this.db.selectFrom('users').select('id').where(sql<boolean>`lower(email) = lower(${email})`);
    if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  async lockSysadmins(): Promise<number[]> {
    // A no-op UPDATE takes the row locks on both dialects (SQLite has no SELECT … FOR UPDATE). On
    // PostgreSQL a concurrent transaction waits here, then re-checks `sysadmin = 1` against the
    // committed row, so it counts the admins the first one left.
    const rows = await this.db.updateTable('users').set({ sysadmin: sql<number>`sysadmin` }).where('sysadmin', '=', 1).returning('id').execute();
    return rows.map((r) => r.id);
  }
}

const SORT_COLUMNS = { username: 'username', createdAt: 'created_at', updatedAt: 'updated_at', id: 'id' } as const;

/** A LIKE pattern matching `text` literally anywhere. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
