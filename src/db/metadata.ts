import { KyselyCveExportRepo } from './repos/cve-exports.repo.js';
import { KyselyFindingIndexRepo } from './repos/finding-index.repo.js';
import { type Kysely, sql } from 'kysely';
import type { Metadata, MetadataRepos } from '../ports/metadata.js';
import { closeKysely, type DatabaseOptions, type Dialect, openKysely } from './dialect.js';
import { migrate } from './migrator.js';
import { KyselyAuditRepo } from './repos/audit.repo.js';
import { KyselyArtifactRepo } from './repos/artifacts.repo.js';
import { KyselyCatalogRepo } from './repos/catalog.repo.js';
import { KyselyLabelRepo } from './repos/labels.repo.js';
import { KyselyBlobRepo } from './repos/blobs.repo.js';
import { KyselySessionRepo } from './repos/sessions.repo.js';
import { KyselyConfigRepo } from './repos/config.repo.js';
import { KyselyGroupRepo } from './repos/groups.repo.js';
import { KyselyOidcRepo } from './repos/oidc.repo.js';
import { KyselyPackageIndexRepo } from './repos/package-index.repo.js';
import { KyselyLdapRepo } from './repos/ldap.repo.js';
import { KyselyMemberRepo } from './repos/members.repo.js';
import { KyselyRobotRepo } from './repos/robots.repo.js';
import { KyselyManifestRepo } from './repos/manifests.repo.js';
import { KyselyProjectRepo } from './repos/projects.repo.js';
import { KyselyRepositoryRepo } from './repos/repositories.repo.js';
import { KyselyTagRepo } from './repos/tags.repo.js';
import { KyselyUploadRepo } from './repos/uploads.repo.js';
import { KyselyUserRepo } from './repos/users.repo.js';
import { KyselyScannerRegistryRepo } from './repos/scanners.repo.js';
import { KyselyCveAllowlistRepo } from './repos/cve-allowlist.repo.js';
import { KyselyJobRepo } from './repos/jobs.repo.js';
import { KyselyScanRepo } from './repos/scans.repo.js';
import { KyselyVulndbRepo } from './repos/vulndb.repo.js';
import { PreparedQueries } from './prepared.js';
import type { DB } from './schema.js';

function reposOn(db: Kysely<DB>, prepared: PreparedQueries, dialect: Dialect): MetadataRepos {
  return {
    audit: new KyselyAuditRepo(db, dialect),
    sessions: new KyselySessionRepo(db),
    members: new KyselyMemberRepo(db),
    groups: new KyselyGroupRepo(db),
    robots: new KyselyRobotRepo(db),
    config: new KyselyConfigRepo(db),
    oidc: new KyselyOidcRepo(db),
    ldap: new KyselyLdapRepo(db),
    projects: new KyselyProjectRepo(db),
    users: new KyselyUserRepo(db, prepared),
    repositories: new KyselyRepositoryRepo(db, prepared),
    blobs: new KyselyBlobRepo(db, prepared),
    manifests: new KyselyManifestRepo(db, prepared),
    tags: new KyselyTagRepo(db, prepared),
    uploads: new KyselyUploadRepo(db, prepared),
    catalog: new KyselyCatalogRepo(db),
    artifacts: new KyselyArtifactRepo(db, dialect),
    labels: new KyselyLabelRepo(db),
    scanners: new KyselyScannerRegistryRepo(db),
    packageIndex: new KyselyPackageIndexRepo(db),
    findingIndex: new KyselyFindingIndexRepo(db),
    cveExports: new KyselyCveExportRepo(db),
    cveAllowlists: new KyselyCveAllowlistRepo(db),
    jobs: new KyselyJobRepo(db, dialect),
    scans: new KyselyScanRepo(db),
    vulndb: new KyselyVulndbRepo(db, dialect),
  };
}

/** Opens the database, brings its schema up to date and returns the metadata port over it. */
export async function openMetadata(opts: DatabaseOptions): Promise<Metadata> {
  const db = openKysely(opts);
  const dialect: Dialect = opts.driver;
  try {
    await migrate(db as Kysely<unknown>, dialect, opts.driver === 'postgres' ? opts.schema : undefined);
  } catch (e) {
    await closeKysely(db);
    throw e;
  }
  const prepared = new PreparedQueries(db);
  return {
    ...reposOn(db, prepared, dialect),
    dialect,
    transaction: (fn) => db.transaction().execute((trx) => fn(reposOn(trx, prepared, dialect))),
    close: () => closeKysely(db),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
  };
}
