import { type Kysely, type Selectable, sql } from 'kysely';
import { conflict } from '../../domain/errors.js';
import type { Page } from '../../ports/page.js';
import type {
  NewScannerRegistration,
  ScannerAuth,
  ScannerFilter,
  ScannerRegistrationRecord,
  ScannerRegistryRepo,
  ScannerSort,
} from '../../ports/scanner-registry-repo.js';
import { isUniqueViolation } from '../errors.js';
import { nameMatches } from '../name-match.js';
import type { DB, ScannerRegistrationsTable } from '../schema.js';

const AUTHS: readonly ScannerAuth[] = ['', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key'];

const toRecord = (r: Selectable<ScannerRegistrationsTable>): ScannerRegistrationRecord => ({
  id: Number(r.id),
  uuid: r.uuid,
  name: r.name,
  description: r.description,
  url: r.url,
  auth: (AUTHS as readonly string[]).includes(r.auth) ? (r.auth as ScannerAuth) : '',
  credentialSealed: r.credential_sealed,
  disabled: r.disabled === 1,
  isDefault: r.is_default === 1,
  skipCertVerify: r.skip_cert_verify === 1,
  useInternalAddr: r.use_internal_addr === 1,
  builtin: r.builtin === 1,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

const SORT_COLUMNS = { name: 'name', url: 'url', createdAt: 'created_at', id: 'id' } as const;

function taken(e: unknown, r: { name: string; url: string }): unknown {
  if (!isUniqueViolation(e)) return e;
  return conflict(`a scanner registration with the name ${r.name} or the URL ${r.url} exists already`, { name: r.name });
}

export class KyselyScannerRegistryRepo implements ScannerRegistryRepo {
  constructor(private readonly db: Kysely<DB>) {}

  async create(r: NewScannerRegistration): Promise<ScannerRegistrationRecord> {
    try {
      const row = await this.db
        .insertInto('scanner_registrations')
        .values({
          uuid: r.uuid,
          name: r.name,
          description: r.description,
          url: r.url,
          auth: r.auth,
          credential_sealed: r.credentialSealed,
          disabled: r.disabled ? 1 : 0,
          is_default: 0,
          skip_cert_verify: r.skipCertVerify ? 1 : 0,
          use_internal_addr: r.useInternalAddr ? 1 : 0,
          builtin: 0,
          created_at: r.now,
          updated_at: r.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (e) {
      throw taken(e, r);
    }
  }

  async getByUuid(uuid: string): Promise<ScannerRegistrationRecord | undefined> {
    const r = await this.db.selectFrom('scanner_registrations').selectAll().where('uuid', '=', uuid).executeTakeFirst();
    return r && toRecord(r);
  }

  async getById(id: number): Promise<ScannerRegistrationRecord | undefined> {
    const r = await this.db.selectFrom('scanner_registrations').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRecord(r);
  }

  async getDefault(): Promise<ScannerRegistrationRecord | undefined> {
    const r = await this.db.selectFrom('scanner_registrations').selectAll().where('is_default', '=', 1).orderBy('id').executeTakeFirst();
    return r && toRecord(r);
  }

  async getBuiltin(): Promise<ScannerRegistrationRecord | undefined> {
    const r = await this.db.selectFrom('scanner_registrations').selectAll().where('builtin', '=', 1).orderBy('id').executeTakeFirst();
    return r && toRecord(r);
  }

  async list(f: ScannerFilter, page: { offset: number; limit: number; sort?: ScannerSort }): Promise<Page<ScannerRegistrationRecord>> {
    let q = this.db.selectFrom('scanner_registrations');
    const { name, description, url } = f;
    if (name) q = q.where((eb) => nameMatches(eb, sql.ref<string>('name'), name));
    if (description) q = q.where((eb) => nameMatches(eb, sql.ref<string>('description'), description));
    if (url) q = q.where((eb) => nameMatches(eb, sql.ref<string>('url'), url));
    const sort = page.sort ?? { by: 'id', desc: false };
    const [rows, count] = await Promise.all([
      q
        .selectAll()
        .orderBy(SORT_COLUMNS[sort.by], sort.desc ? 'desc' : 'asc')
        .orderBy('id')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toRecord), total: Number(count.n) };
  }

  async update(id: number, p: Omit<NewScannerRegistration, 'uuid' | 'now'> & { now: number }): Promise<boolean> {
    try {
      const r = await this.db
        .updateTable('scanner_registrations')
        .set({
          name: p.name,
          description: p.description,
          url: p.url,
          auth: p.auth,
          credential_sealed: p.credentialSealed,
          disabled: p.disabled ? 1 : 0,
          skip_cert_verify: p.skipCertVerify ? 1 : 0,
          use_internal_addr: p.useInternalAddr ? 1 : 0,
          updated_at: p.now,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    } catch (e) {
      throw taken(e, p);
    }
  }

  async setDefault(id: number, now: number): Promise<boolean> {
    // one statement: no moment with two defaults or none, whoever else writes
    const r = await this.db
      .updateTable('scanner_registrations')
      .set({ is_default: sql<number>`case when id = ${id} then 1 else 0 end`, updated_at: sql<number>`case when id = ${id} then ${now} else updated_at end` })
      .where((eb) => eb.or([eb('id', '=', id), eb('is_default', '=', 1)]))
      .where(sql<boolean>`exists (select 1 from scanner_registrations s where s.id = ${id})`)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: number): Promise<boolean> {
    await this.db.deleteFrom('project_scanners').where('registration_id', '=', id).execute();
    const r = await this.db.deleteFrom('scanner_registrations').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async projectChoice(projectId: number): Promise<ScannerRegistrationRecord | undefined> {
    const r = await this.db
      .selectFrom('project_scanners as p')
      .innerJoin('scanner_registrations as s', 's.id', 'p.registration_id')
      .selectAll('s')
      .where('p.project_id', '=', projectId)
      .executeTakeFirst();
    return r && toRecord(r);
  }

  async setProjectChoice(projectId: number, registrationId: number, now: number): Promise<void> {
    await this.db
      .insertInto('project_scanners')
      .values({ project_id: projectId, registration_id: registrationId, updated_at: now })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ registration_id: registrationId, updated_at: now }))
      .execute();
  }
}
