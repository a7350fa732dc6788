import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/slapd.sh', import.meta.url));

export const LDAP_SUFFIX = 'dc=berth,dc=test';
export const LDAP_ROOT = { dn: `cn=admin,${LDAP_SUFFIX}`, password: 'admin-secret' };
export const LDAP_SEARCH = { dn: `cn=berth-search,ou=services,${LDAP_SUFFIX}`, password: 'search-secret' };
/** the seeded users (test/fixtures/ldap/seed.ldif) and their passwords */
export const LDAP_USERS = {
  alice: { dn: `uid=alice,ou=people,${LDAP_SUFFIX}`, password: 'Alice-pass-1' },
  bob: { dn: `uid=bob,ou=people,${LDAP_SUFFIX}`, password: 'Bob-pass-1' },
  carol: { dn: `uid=carol,ou=people,${LDAP_SUFFIX}`, password: 'Carol-pass-1' },
  dave: { dn: `uid=dave,ou=contractors,${LDAP_SUFFIX}`, password: 'Dave-pass-1' },
  eve: { dn: `uid=eve(ops),ou=people,${LDAP_SUFFIX}`, password: 'Eve-pass-1' },
} as const;
export const LDAP_GROUPS = {
  developers: `cn=developers,ou=groups,${LDAP_SUFFIX}`,
  registryAdmins: `cn=registry-admins,ou=groups,${LDAP_SUFFIX}`,
  auditors: `cn=auditors,ou=groups,${LDAP_SUFFIX}`,
} as const;

export interface Slapd {
  /** ldap://127.0.0.1:port */
  url: string;
  /** ldaps://127.0.0.1:port, with a self-signed certificate */
  tlsUrl: string;
  dir: string;
  /** Harbor's configuration keys for this directory, as an administrator would set them */
  settings(overrides?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

/** A throwaway slapd of its own (scripts/slapd.sh) on a free port, seeded; call stop() when done. */
export async function startSlapd(): Promise<Slapd> {
  const { stdout } = await run(SCRIPT, ['start'], { env: { ...process.env, SLAPD_PORT: '', SLAPD_DIR: '' } });
  const [url, tlsUrl, dir] = stdout.trim().split(' ');
  if (!url || !tlsUrl || !dir) throw new Error(`slapd.sh start printed ${JSON.stringify(stdout)}`);
  let stopped: Promise<void> | undefined;
  return {
    url,
    tlsUrl,
    dir,
    settings: (overrides = {}) => ({
      auth_mode: 'ldap_auth',
      ldap_url: url,
      ldap_search_dn: LDAP_SEARCH.dn,
      ldap_search_password: LDAP_SEARCH.password,
      ldap_base_dn: `ou=people,${LDAP_SUFFIX}`,
      ldap_filter: '(objectClass=inetOrgPerson)',
      ldap_uid: 'uid',
      ldap_scope: 2,
      ldap_timeout: 5,
      ldap_verify_cert: true,
      ldap_group_base_dn: `ou=groups,${LDAP_SUFFIX}`,
      ldap_group_search_filter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
      ldap_group_attribute_name: 'cn',
      ldap_group_admin_dn: LDAP_GROUPS.registryAdmins,
      ldap_group_membership_attribute: 'memberof',
      ldap_group_search_scope: 2,
      ...overrides,
    }),
    stop() {
      stopped ??= run(SCRIPT, ['stop'], { env: { ...process.env, SLAPD_DIR: dir } }).then(() => undefined);
      return stopped;
    },
  };
}
