import { badRequest } from '../domain/errors.js';
import { type Principal, principalName } from '../domain/permission.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata } from '../ports/metadata.js';

type Scalar = string | number | boolean;

interface Spec {
  kind: 'string' | 'bool' | 'int';
  default: Scalar;
  /** write-only (passwords, client secrets): accepted by PUT, never returned, never audited */
  secret?: true;
  oneOf?: readonly Scalar[];
  min?: number;
  max?: number;
  /** a further rule for a non-empty string; returns what is wrong */
  check?: (v: string) => string | undefined;
  /** set by something other than this API: shown read-only, a PUT may only repeat it */
  fixed?: { reason: string; value?: (d: DeploymentSettings) => Scalar };
}

/** Values of Harbor settings that Berth takes from its deployment configuration (berth.yaml). */
export interface DeploymentSettings {
  tokenExpirationMinutes: number;
  sessionTimeoutMinutes: number;
}

type More = Omit<Partial<Spec>, 'kind' | 'default'>;
const str = (def = '', more: More = {}) => ({ ...more, kind: 'string' as const, default: def });
const bool = (def: boolean, more: More = {}) => ({ ...more, kind: 'bool' as const, default: def });
const int = (def: number, more: More = {}) => ({ ...more, kind: 'int' as const, default: def });
const SCOPES = [0, 1, 2] as const; // LDAP base, one level, subtree

const ldapUrl = (v: string) => (/^ldaps?:\/\/[^\s/]+(:\d+)?\/?$/i.test(v) ? undefined : 'must be ldap://host[:port] or ldaps://host[:port]');
const ldapFilter = (v: string) => (v.startsWith('(') && v.endsWith(')') ? undefined : 'must be an LDAP filter in parentheses, e.g. (objectClass=person)');
const httpUrl = (v: string) => {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:' ? undefined : 'must be an http(s) URL';
  } catch {
    return 'must be an http(s) URL';
  }
};
const regex = (v: string) => {
  try {
    new RegExp(v);
    return undefined;
  } catch {
    return 'must be a regular expression';
  }
};
const oidcScope = (v: string) => (v.split(',').map((s) => s.trim()).includes('openid') ? undefined : 'must include openid');
const jsonOfStrings = (v: string) => {
  try {
    const o = JSON.parse(v) as unknown;
    if (typeof o === 'object' && o !== null && !Array.isArray(o) && Object.values(o).every((x) => typeof x === 'string')) return undefined;
  } catch {
    // reported below
  }
  return 'must be a JSON object of strings';
};

/**
 * The system settings of Harbor's /configurations that Berth has so far, under Harbor's names,
 * with Harbor's defaults. Stored through ConfigRepo (the database), not in berth.yaml.
 */
export const SETTINGS = {
  auth_mode: str('db_auth', { oneOf: ['db_auth', 'ldap_auth', 'oidc_auth'] }),
  project_creation_restriction: str('everyone', { oneOf: ['everyone', 'adminonly'] }),
  self_registration: bool(false, { fixed: { reason: 'Berth has no self-registration; administrators create users' } }),
  robot_token_duration: int(30, { min: 1, max: 36_500 }),
  robot_name_prefix: str('robot$', { fixed: { reason: 'robot account names always start with robot$' } }),
  token_expiration: int(30, { fixed: { reason: 'set by auth.tokenTtlSeconds in the deployment configuration', value: (d) => d.tokenExpirationMinutes } }),
  session_timeout: int(60, { fixed: { reason: 'set by auth.sessionTimeoutSeconds in the deployment configuration', value: (d) => d.sessionTimeoutMinutes } }),

  ldap_url: str('', { check: ldapUrl }),
  ldap_search_dn: str(),
  ldap_search_password: str('', { secret: true }),
  ldap_base_dn: str(),
  ldap_filter: str('', { check: ldapFilter }),
  ldap_uid: str('cn', { check: (v) => (/^[A-Za-z][A-Za-z0-9-]*$/.test(v) ? undefined : 'must be an attribute name') }),
  ldap_scope: int(2, { oneOf: SCOPES }),
  ldap_timeout: int(5, { min: 1, max: 300 }),
  ldap_verify_cert: bool(true),
  ldap_group_base_dn: str(),
  ldap_group_search_filter: str('', { check: ldapFilter }),
  ldap_group_attribute_name: str('cn'),
  ldap_group_search_scope: int(2, { oneOf: SCOPES }),
  ldap_group_admin_dn: str(),
  ldap_group_membership_attribute: str('memberof'),

  oidc_name: str(),
  oidc_endpoint: str('', { check: httpUrl }),
  oidc_client_id: str(),
  oidc_client_secret: str('', { secret: true }),
  oidc_groups_claim: str(),
  oidc_admin_group: str(),
  oidc_group_filter: str('', { check: regex }),
  oidc_scope: str('openid,offline_access', { check: oidcScope }),
  oidc_user_claim: str(),
  oidc_verify_cert: bool(true),
  oidc_auto_onboard: bool(false),
  oidc_extra_redirect_parms: str('{}', { check: jsonOfStrings }),
  oidc_logout: bool(false),
} as const satisfies Record<string, Spec>;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends { kind: 'string' } ? string : S extends { kind: 'bool' } ? boolean : number;
export type Settings = { [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

const SPECS: Readonly<Record<string, Spec>> = SETTINGS;
const KEYS = Object.keys(SETTINGS) as SettingKey[];
const MAX_STRING = 4096;

/** Harbor's ConfigurationsResponse item. */
export interface ConfigItem {
  value: Scalar;
  editable: boolean;
}

export type SettingsListener = (changed: readonly SettingKey[], settings: Settings) => void;

/**
 * Harbor's system configuration: typed reads with defaults for the services that need them,
 * the API's view (secrets left out), and validated, audited updates.
 */
export class ConfigService {
  private readonly listeners: SettingsListener[] = [];

  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      deployment: DeploymentSettings;
      /** after a committed change (drop cached access decisions) */
      onChange?: SettingsListener;
    },
  ) {
    if (deps.onChange) this.listeners.push(deps.onChange);
  }

  /** Called after every committed change of this instance (an LDAP or OIDC client to rebuild). */
  subscribe(listener: SettingsListener): void {
    this.listeners.push(listener);
  }

  /** Every setting, secrets included, with defaults for the unset ones. For services only. */
  async all(): Promise<Settings> {
    return this.resolve(await this.deps.metadata.config.all());
  }

  async get<K extends SettingKey>(key: K): Promise<Settings[K]> {
    return this.valueOf(key, await this.deps.metadata.config.get(key)) as Settings[K];
  }

  /** GET /configurations: every setting but the secrets, with whether it may be changed now. */
  async response(): Promise<Record<string, ConfigItem>> {
    const [settings, nonAdmins] = await Promise.all([this.all(), this.deps.metadata.users.count({ sysadmin: false })]);
    const out: Record<string, ConfigItem> = {};
    for (const k of KEYS) {
      const spec = SPECS[k]!;
      if (spec.secret) continue;
      const editable = !spec.fixed && (k !== 'auth_mode' || nonAdmins === 0);
      out[k] = { value: settings[k], editable };
    }
    return out;
  }

  /** What /systeminfo shows to everybody. */
  async publicInfo(): Promise<{ authMode: string; projectCreationRestriction: string; selfRegistration: boolean }> {
    const s = await this.all();
    return { authMode: s.auth_mode, projectCreationRestriction: s.project_creation_restriction, selfRegistration: s.self_registration };
  }

  /**
   * PUT /configurations: a subset of the settings. Every problem is reported at once and nothing
   * is stored unless all are valid. Harbor's rule: auth_mode changes only while no user but
   * administrators exists (the others would be stranded in the old mode).
   */
  async update(actor: { principal: Principal; ip: string }, patch: Record<string, unknown>): Promise<void> {
    const problems: string[] = [];
    const wanted: Partial<Record<SettingKey, Scalar>> = {};
    for (const [k, v] of Object.entries(patch)) {
      const spec = SPECS[k];
      if (!spec) {
        problems.push(`${k.slice(0, 100)}: unknown configuration key`);
        continue;
      }
      const problem = invalid(spec, v);
      if (problem) problems.push(`${k}: ${problem}`);
      else wanted[k as SettingKey] = v as Scalar;
    }
    if (problems.length) throw badRequest(problems.join('; '));

    const changed = await this.deps.metadata.transaction(async (tx) => {
      const current = this.resolve(await tx.config.all());
      const diff: Record<string, Scalar> = {};
      for (const k of Object.keys(wanted) as SettingKey[]) {
        if (wanted[k] === current[k]) continue;
        const fixed = SPECS[k]!.fixed;
        if (fixed) problems.push(`${k} is not editable: ${fixed.reason}`);
        else diff[k] = wanted[k]!;
      }
      if (diff['auth_mode'] !== undefined && (await tx.users.count({ sysadmin: false })) > 0) {
        problems.push('auth_mode: the auth mode cannot be modified as users other than administrators exist');
      }
      if (problems.length) throw badRequest(problems.join('; '));
      const keys = Object.keys(diff) as SettingKey[];
      if (!keys.length) return keys;
      const now = this.deps.clock.now();
      await tx.config.set(diff, now);
      await tx.audit.append({
        operator: principalName(actor.principal),
        operation: 'update',
        resourceType: 'configuration',
        resource: keys.join(','),
        sourceIp: actor.ip,
        result: 'success',
        detail: { changed: Object.fromEntries(keys.map((k) => [k, SPECS[k]!.secret ? '[secret]' : diff[k]])) },
        at: now,
      });
      return keys;
    });
    if (!changed.length) return;
    const settings = await this.all();
    for (const l of this.listeners) l(changed, settings);
  }

  private resolve(stored: Record<string, unknown>): Settings {
    return Object.fromEntries(KEYS.map((k) => [k, this.valueOf(k, stored[k])])) as Settings;
  }

  private valueOf(key: SettingKey, stored: unknown): Scalar {
    const spec = SPECS[key]!;
    if (spec.fixed) return spec.fixed.value ? spec.fixed.value(this.deps.deployment) : spec.default;
    // a stored value that no longer passes (an older rule, a hand edit) is not used
    return stored !== undefined && invalid(spec, stored) === undefined ? (stored as Scalar) : spec.default;
  }
}

/** What is wrong with `v` for the setting; never echoes a secret. */
function invalid(spec: Spec, v: unknown): string | undefined {
  if (spec.kind === 'bool') return typeof v === 'boolean' ? oneOf(spec, v) : 'must be true or false';
  if (spec.kind === 'int') {
    if (typeof v !== 'number' || !Number.isInteger(v)) return 'must be an integer';
    if (spec.min !== undefined && v < spec.min) return `must be at least ${spec.min}`;
    if (spec.max !== undefined && v > spec.max) return `must be at most ${spec.max}`;
    return oneOf(spec, v);
  }
  if (typeof v !== 'string') return 'must be a string';
  if (v.length > MAX_STRING) return `must be at most ${MAX_STRING} characters`;
  if (v !== '' && spec.check) {
    const problem = spec.check(v);
    if (problem) return problem;
  }
  return oneOf(spec, v);
}

function oneOf(spec: Spec, v: Scalar): string | undefined {
  if (!spec.oneOf || spec.oneOf.includes(v)) return undefined;
  return `must be one of ${spec.oneOf.map((x) => JSON.stringify(x)).join(', ')}`;
}
