import { badRequest, conflict, notFound } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { DirectoryGroup } from '../ports/directory.js';
import { GROUP_TYPES, type GroupType, type UserGroup } from '../ports/identity-repos.js';
import type { Metadata, MetadataRepos, Page } from '../ports/metadata.js';
import { type Actor, actorFields } from './audit.service.js';
import { normalizeDn } from './ldap-settings.js';

export interface UserGroupInput {
  name?: string;
  type: number;
  ldapGroupDn?: string;
}

const MAX_NAME = 255;

/**
 * Harbor's user groups (/usergroups): LDAP groups (type 1, identified by DN), HTTP groups (2)
 * and OIDC groups (3, by name). Groups are what project memberships of type `g` point at.
 */
export class UserGroupService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      /** the directory, to check an LDAP group's DN (and take its name) */
      directory: { findGroup(dn: string): Promise<DirectoryGroup | undefined> };
      /** after a rename or delete: decisions that went through the group must be taken again */
      onChange?: () => void;
    },
  ) {}

  list(filter: { name?: string; ldapGroupDn?: string }, page: { offset: number; limit: number }): Promise<Page<UserGroup>> {
    return this.deps.metadata.groups.list(
      { ...(filter.name ? { name: filter.name } : {}), ...(filter.ldapGroupDn ? { ldapGroupDn: normalizeDn(filter.ldapGroupDn) } : {}) },
      page,
    );
  }

  /** GET /usergroups/search: groups whose name contains `name`. */
  search(name: string, page: { offset: number; limit: number }): Promise<Page<UserGroup>> {
    return this.deps.metadata.groups.list({ name }, page);
  }

  async get(id: number): Promise<UserGroup> {
    const g = await this.deps.metadata.groups.get(id);
    if (!g) throw notFound(`user group ${id} not found`);
    return g;
  }

  /**
   * Harbor: an LDAP group needs a DN that the directory knows (its name comes from there when
   * not given) and is unique by DN; the other types need a name, unique within the type.
   */
  async create(actor: Actor, input: UserGroupInput): Promise<UserGroup> {
    const type = groupType(input.type);
    let name = (input.name ?? '').trim();
    let dn = '';
    if (type === GROUP_TYPES.ldap) {
      if (!input.ldapGroupDn?.trim()) throw badRequest('ldap_group_dn is required for an LDAP group (group_type 1)');
      dn = normalizeDn(input.ldapGroupDn);
      const entry = await this.deps.directory.findGroup(dn);
      if (!entry) throw badRequest(`the LDAP group ${JSON.stringify(dn.slice(0, 300))} was not found in the directory`);
      if (name === '') name = entry.name;
    } else if (input.ldapGroupDn) {
      throw badRequest('ldap_group_dn is only for LDAP groups (group_type 1)');
    }
    checkName(name);
    const now = this.deps.clock.now();
    return this.deps.metadata.transaction(async (tx) => {
      if (type === GROUP_TYPES.ldap ? await dnTaken(tx, dn) : await nameTaken(tx, type, name)) {
        throw conflict(type === GROUP_TYPES.ldap ? `a group with the LDAP DN ${dn.slice(0, 300)} exists` : `a group named ${name} exists`);
      }
      const g = await tx.groups.ensure({ name, type, ldapGroupDn: dn, now });
      await tx.audit.append({ ...actorFields(actor), operation: 'create', resourceType: 'user_group', resource: name, result: 'success', detail: { id: g.id, group_type: type, ...(dn ? { ldap_group_dn: dn } : {}) }, at: now });
      return g;
    });
  }

  /** PUT /usergroups/{id}: Harbor changes the name only. */
  async rename(actor: Actor, id: number, name: string): Promise<void> {
    const trimmed = name.trim();
    checkName(trimmed);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const g = await tx.groups.get(id);
      if (!g) throw notFound(`user group ${id} not found`);
      if (g.name === trimmed) return;
      if (g.type !== GROUP_TYPES.ldap && (await nameTaken(tx, g.type, trimmed))) throw conflict(`a group named ${trimmed} exists`);
      if (g.type === GROUP_TYPES.ldap && (await sameIdentity(tx, g, trimmed))) throw conflict(`a group named ${trimmed} with the same DN exists`);
      await tx.groups.rename(id, trimmed, now);
      await tx.audit.append({ ...actorFields(actor), operation: 'update', resourceType: 'user_group', resource: trimmed, result: 'success', detail: { id, previous_name: g.name }, at: now });
    });
    this.deps.onChange?.();
  }

  /** DELETE /usergroups/{id}: with its project memberships and user links. */
  async delete(actor: Actor, id: number): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const g = await tx.groups.get(id);
      if (!g) throw notFound(`user group ${id} not found`);
      await tx.groups.delete(id);
      await tx.audit.append({ ...actorFields(actor), operation: 'delete', resourceType: 'user_group', resource: g.name, result: 'success', detail: { id, group_type: g.type, ...(g.ldapGroupDn ? { ldap_group_dn: g.ldapGroupDn } : {}) }, at: now });
    });
    this.deps.onChange?.();
  }
}

function groupType(t: number): GroupType {
  if (t === GROUP_TYPES.ldap || t === GROUP_TYPES.http || t === GROUP_TYPES.oidc) return t;
  throw badRequest('group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC)');
}

function checkName(name: string): void {
  if (name === '' || name.length > MAX_NAME) throw badRequest(`group_name must be 1-${MAX_NAME} characters`);
  for (const c of name) if (c.charCodeAt(0) < 0x20) throw badRequest('group_name must not contain control characters');
}

async function dnTaken(tx: MetadataRepos, dn: string): Promise<boolean> {
  return (await tx.groups.list({ type: GROUP_TYPES.ldap, ldapGroupDn: dn }, { offset: 0, limit: 1 })).total > 0;
}

/** The repository matches names as substrings: the exact ones are picked from its answer. */
async function nameTaken(tx: MetadataRepos, type: GroupType, name: string): Promise<boolean> {
  for (let offset = 0; ; offset += 500) {
    const page = await tx.groups.list({ name, type }, { offset, limit: 500 });
    if (page.items.some((g) => g.name === name)) return true;
    if (offset + page.items.length >= page.total || page.items.length === 0) return false;
  }
}

async function sameIdentity(tx: MetadataRepos, g: UserGroup, name: string): Promise<boolean> {
  const page = await tx.groups.list({ type: g.type, ldapGroupDn: g.ldapGroupDn }, { offset: 0, limit: 100 });
  return page.items.some((x) => x.id !== g.id && x.name === name);
}
