import type { Kysely, Selectable } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { User } from '../../domain/records.js';
import type { UserRepo } from '../../ports/metadata.js';
import { isUniqueViolation } from '../errors.js';
import type { PreparedQueries } from '../prepared.js';
import type { DB, UsersTable } from '../schema.js';

const COLUMNS = ['id', 'username', 'email', 'realname', 'comment', 'sysadmin', 'created_at', 'updated_at', 'auth_source', 'external_id'] as const;

const toUser = (r: Pick<Selectable<UsersTable>, (typeof COLUMNS)[number]>): User => ({
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
}
