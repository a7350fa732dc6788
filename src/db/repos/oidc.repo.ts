import type { Kysely, Selectable } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { User } from '../../domain/records.js';
import type { OidcIdentity, OidcPendingKind, OidcRepo } from '../../ports/oidc-repo.js';
import { isUniqueViolation } from '../errors.js';
import type { DB, OidcUsersTable } from '../schema.js';
import { COLUMNS, toUser } from './users.repo.js';

const toIdentity = (r: Selectable<OidcUsersTable>): OidcIdentity => ({
  userId: r.user_id,
  subiss: r.subiss,
  secretSealed: r.secret_sealed,
  adminByGroup: r.admin_by_group === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class KyselyOidcRepo implements OidcRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async findBySubiss(subiss: string): Promise<{ user: User; identity: OidcIdentity } | undefined> {
    const identity = await this.db.selectFrom('oidc_users').selectAll().where('subiss', '=', subiss).executeTakeFirst();
    if (!identity) return undefined;
    const user = await this.db.selectFrom('users').select(COLUMNS).where('id', '=', identity.user_id).executeTakeFirst();
    return user && { user: toUser(user), identity: toIdentity(identity) };
  }

  async getByUserId(userId: number): Promise<OidcIdentity | undefined> {
    const r = await this.db.selectFrom('oidc_users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return r && toIdentity(r);
  }

  async onboard(u: Parameters<OidcRepo['onboard']>[0]): Promise<User> {
    try {
      const row = await this.db
        .insertInto('users')
        .values({
          username: u.username,
          // no password: an OIDC user signs in at the provider, and uses the CLI secret on /v2
          password_hash: '',
          email: u.email,
          realname: u.realname,
          comment: '',
          sysadmin: u.sysadmin ? 1 : 0,
          created_at: u.now,
          updated_at: u.now,
          auth_source: 'oidc',
          external_id: u.subiss,
          cli_secret_hash: u.cliSecretHash,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      await this.db
        .insertInto('oidc_users')
        .values({
          user_id: row.id,
          subiss: u.subiss,
          secret_sealed: u.secretSealed,
          admin_by_group: u.adminByGroup ? 1 : 0,
          created_at: u.now,
          updated_at: u.now,
        })
        .execute();
      return toUser(row);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`the username ${u.username} or this OIDC subject is onboarded already`, { username: u.username });
      throw e;
    }
  }

  async setCliSecret(userId: number, cliSecretHash: string, secretSealed: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('oidc_users').set({ secret_sealed: secretSealed, updated_at: now }).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await this.db.updateTable('users').set({ cli_secret_hash: cliSecretHash, updated_at: now }).where('id', '=', userId).execute();
    return true;
  }

  async setAdmin(userId: number, sysadmin: boolean, adminByGroup: boolean, now: number): Promise<void> {
    await this.db.updateTable('users').set({ sysadmin: sysadmin ? 1 : 0, updated_at: now }).where('id', '=', userId).execute();
    await this.db.updateTable('oidc_users').set({ admin_by_group: adminByGroup ? 1 : 0, updated_at: now }).where('user_id', '=', userId).execute();
  }

  async putPending(p: { id: string; kind: OidcPendingKind; data: string; expiresAt: number; now: number; keep: number }): Promise<void> {
    await this.db.deleteFrom('oidc_pending').where('expires_at', '<=', p.now).execute();
    await this.db.insertInto('oidc_pending').values({ id: p.id, kind: p.kind, data: p.data, expires_at: p.expiresAt }).execute();
    const cut = await this.db
      .selectFrom('oidc_pending')
      .select('expires_at')
      .where('kind', '=', p.kind)
      .orderBy('expires_at', 'desc')
      .limit(1)
      .offset(p.keep)
      .executeTakeFirst();
    if (cut) await this.db.deleteFrom('oidc_pending').where('kind', '=', p.kind).where('expires_at', '<=', cut.expires_at).execute();
  }

  async takePending(id: string, kind: OidcPendingKind, now: number): Promise<string | undefined> {
    // one DELETE … RETURNING: of two requests racing with the same state, one gets the row
    const r = await this.db.deleteFrom('oidc_pending').where('id', '=', id).where('kind', '=', kind).returning(['data', 'expires_at']).executeTakeFirst();
    return r && r.expires_at > now ? r.data : undefined;
  }
}
