import { badRequest, notFound } from '../domain/errors.js';
import { type Role, roleOfId } from '../domain/permission.js';
import type { Project } from '../domain/records.js';
import type { AuditEvent } from '../ports/audit-repo.js';
import type { Clock } from '../ports/clock.js';
import { GROUP_TYPES, type GroupType, type ProjectMember } from '../ports/identity-repos.js';
import type { Metadata, MetadataRepos, Page } from '../ports/metadata.js';
import { type Actor, actorFields } from './audit.service.js';

/** Harbor's ProjectMember body: exactly one of a user or a group. */
export interface MemberInput {
  roleId: number;
  user?: { userId?: number; username?: string };
  group?: { id?: number; groupName?: string; groupType?: number; ldapGroupDn?: string };
}

const GROUP_TYPE_VALUES: readonly number[] = Object.values(GROUP_TYPES);

function roleFromId(roleId: number): Role {
  const role = roleOfId(roleId);
  if (!role) throw badRequest(`role_id ${roleId} is invalid: use 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)`);
  return role;
}

/** `cn=devs,ou=groups,dc=example` → `devs`: the name Harbor shows for an LDAP group given by DN. */
function firstRdnValue(dn: string): string {
  const first = dn.split(',')[0] ?? '';
  const eq = first.indexOf('=');
  return (eq < 0 ? first : first.slice(eq + 1)).trim();
}

/**
 * Project members (Harbor's /projects/{p}/members): users and groups with one of the five roles.
 * The caller has been authorised on the project's `member` resource; every change is audited
 * in its own transaction and drops cached access decisions.
 *
 * Harbor lets a project admin remove or demote themselves, even as the last admin (a system
 * admin can always repair the project); Berth does the same.
 */
export class MemberService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      /** called after a change so that cached role lookups are dropped */
      onChange?: () => void;
      /** onboards an external (directory) user not yet known, by username; false when there is none */
      onboardUser?: (actor: Actor, username: string) => Promise<boolean>;
    },
  ) {}

  list(project: Project, q: { entityName?: string; offset: number; limit: number }): Promise<Page<ProjectMember>> {
    return this.deps.metadata.members.list(project.id, q);
  }

  async get(project: Project, memberId: number): Promise<ProjectMember> {
    const m = await this.deps.metadata.members.get(project.id, memberId);
    if (!m) throw notFound(`member ${memberId} not found in project ${project.name}`);
    return m;
  }

  /** Adds a user or group; 404 for an unknown user or group id, 409 when already a member. */
  async add(actor: Actor, project: Project, input: MemberInput): Promise<ProjectMember> {
    const role = roleFromId(input.roleId);
    if (!input.user === !input.group) throw badRequest('give exactly one of member_user and member_group');
    const username = input.user?.username?.trim();
    // the directory is asked outside the transaction: no network round trip while a write lock is held
    if (username && !(input.user!.userId! > 0) && this.deps.onboardUser && !(await this.deps.metadata.users.getByUsername(username))) {
      await this.deps.onboardUser(actor, username);
    }
    const now = this.deps.clock.now();
    const member = await this.deps.metadata.transaction(async (tx) => {
      const entity = input.user ? await this.userEntity(tx, input.user) : await this.groupEntity(tx, input.group!, now);
      const m = await tx.members.add({ projectId: project.id, entityType: entity.type, entityId: entity.id, role, now });
      await tx.audit.append(this.event(actor, project, m, 'create', now, { role }));
      return m;
    });
    this.deps.onChange?.();
    return member;
  }

  async updateRole(actor: Actor, project: Project, memberId: number, roleId: number): Promise<void> {
    const role = roleFromId(roleId);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await tx.members.get(project.id, memberId);
      if (!m) throw notFound(`member ${memberId} not found in project ${project.name}`);
      await tx.members.updateRole(project.id, memberId, role, now);
      await tx.audit.append(this.event(actor, project, m, 'update', now, { role, previous_role: m.role }));
    });
    this.deps.onChange?.();
  }

  async remove(actor: Actor, project: Project, memberId: number): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      const m = await tx.members.get(project.id, memberId);
      if (!m) throw notFound(`member ${memberId} not found in project ${project.name}`);
      await tx.members.remove(project.id, memberId);
      await tx.audit.append(this.event(actor, project, m, 'delete', now, { role: m.role }));
    });
    this.deps.onChange?.();
  }

  private async userEntity(tx: MetadataRepos, u: NonNullable<MemberInput['user']>): Promise<{ type: 'u'; id: number }> {
    let user;
    if (u.userId !== undefined && u.userId > 0) user = await tx.users.getById(u.userId);
    else if (u.username) user = await tx.users.getByUsername(u.username);
    else throw badRequest('member_user needs user_id or username');
    if (!user) throw notFound(`user ${u.userId ?? u.username} not found`);
    return { type: 'u', id: user.id };
  }

  /**
   * A group by id must exist. A group by name (HTTP, OIDC) or by DN (LDAP) is onboarded, as
   * Harbor does: a group row grants nothing until the directory or the identity provider puts
   * users in it at their login.
   */
  private async groupEntity(tx: MetadataRepos, g: NonNullable<MemberInput['group']>, now: number): Promise<{ type: 'g'; id: number }> {
    if (g.id !== undefined && g.id > 0) {
      const found = await tx.groups.get(g.id);
      if (!found) throw notFound(`user group ${g.id} not found`);
      return { type: 'g', id: found.id };
    }
    if (g.groupType === undefined || !GROUP_TYPE_VALUES.includes(g.groupType)) {
      throw badRequest('member_group needs id, or group_type 1 (LDAP), 2 (HTTP) or 3 (OIDC)');
    }
    const type = g.groupType as GroupType;
    if (type === GROUP_TYPES.ldap) {
      const dn = g.ldapGroupDn?.trim();
      if (!dn) throw badRequest('an LDAP member_group needs ldap_group_dn');
      const group = await tx.groups.ensure({ name: g.groupName?.trim() || firstRdnValue(dn), type, ldapGroupDn: dn, now });
      return { type: 'g', id: group.id };
    }
    const name = g.groupName?.trim();
    if (!name) throw badRequest('member_group needs group_name');
    const group = await tx.groups.ensure({ name, type, now });
    return { type: 'g', id: group.id };
  }

  private event(actor: Actor, project: Project, m: ProjectMember, operation: string, at: number, detail: Record<string, unknown>): AuditEvent {
    return {
      ...actorFields(actor),
      operation,
      resourceType: 'member',
      resource: m.entityName,
      projectId: project.id,
      result: 'success',
      detail: { project: project.name, entity_type: m.entityType, entity_id: m.entityId, ...detail },
      at,
    };
  }
}
