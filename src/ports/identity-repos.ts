import type { Role, RobotPermission } from '../domain/permission.js';
import type { Page } from './page.js';

export interface ProjectMember {
  id: number;
  projectId: number;
  entityType: 'u' | 'g';
  entityId: number;
  /** the username or group name */
  entityName: string;
  role: Role;
  createdAt: number;
  updatedAt: number;
}

export interface MemberRepo {
  /** the roles a user holds in a project, directly or through any of the groups */
  rolesOf(projectId: number, userId: number, groupIds: readonly number[]): Promise<Role[]>;
  /** projects where the user (or one of the groups) is a member */
  projectIdsOf(userId: number, groupIds: readonly number[]): Promise<number[]>;
  /** throws CONFLICT when the entity is a member already */
  add(m: { projectId: number; entityType: 'u' | 'g'; entityId: number; role: Role; now: number }): Promise<ProjectMember>;
  get(projectId: number, memberId: number): Promise<ProjectMember | undefined>;
  list(projectId: number, opts: { entityName?: string; offset: number; limit: number }): Promise<Page<ProjectMember>>;
  updateRole(projectId: number, memberId: number, role: Role, now: number): Promise<boolean>;
  remove(projectId: number, memberId: number): Promise<boolean>;
  /** how many members (users and groups) hold each role */
  countByRole(projectId: number): Promise<Record<Role, number>>;
}

/** Harbor's group types. */
export const GROUP_TYPES = { ldap: 1, http: 2, oidc: 3 } as const;
export type GroupType = (typeof GROUP_TYPES)[keyof typeof GROUP_TYPES];

export interface UserGroup {
  id: number;
  name: string;
  type: GroupType;
  ldapGroupDn: string;
  createdAt: number;
  updatedAt: number;
}

export interface GroupRepo {
  groupIdsOf(userId: number): Promise<number[]>;
  /** the group with this identity, created when absent */
  ensure(g: { name: string; type: GroupType; ldapGroupDn?: string; now: number }): Promise<UserGroup>;
  /** replaces the user's group memberships (refreshed at each login) */
  setMemberships(userId: number, groupIds: readonly number[]): Promise<void>;
  get(id: number): Promise<UserGroup | undefined>;
  /** `name`: a case-insensitive substring; `ldapGroupDn`: exact */
  list(filter: { name?: string; type?: GroupType; ldapGroupDn?: string }, page: { offset: number; limit: number }): Promise<Page<UserGroup>>;
  rename(id: number, name: string, now: number): Promise<boolean>;
  delete(id: number): Promise<boolean>;
}

export interface RobotRecord {
  id: number;
  /** the full name, with its `robot$` prefix */
  name: string;
  description: string;
  level: 'system' | 'project';
  projectId: number | null;
  /** -1 for never */
  durationDays: number;
  /** epoch ms; -1 for never */
  expiresAt: number;
  disabled: boolean;
  creator: string;
  permissions: RobotPermission[];
  createdAt: number;
  updatedAt: number;
}

export interface RobotRepo {
  /** throws CONFLICT when the name is taken */
  create(r: Omit<RobotRecord, 'id' | 'createdAt' | 'updatedAt'> & { secretHash: string; now: number }): Promise<RobotRecord>;
  getById(id: number): Promise<RobotRecord | undefined>;
  /** the robot and its secret hash, for authentication */
  getWithSecret(name: string): Promise<{ robot: RobotRecord; secretHash: string } | undefined>;
  list(filter: { level?: 'system' | 'project'; projectId?: number; name?: string }, page: { offset: number; limit: number }): Promise<Page<RobotRecord>>;
  update(
    id: number,
    patch: { description?: string; disabled?: boolean; durationDays?: number; expiresAt?: number; permissions?: RobotPermission[]; now: number },
  ): Promise<boolean>;
  setSecret(id: number, secretHash: string, now: number): Promise<boolean>;
  delete(id: number): Promise<boolean>;
}

/** System settings (Harbor's /configurations), stored as JSON values by key. */
export interface ConfigRepo {
  all(): Promise<Record<string, unknown>>;
  get(key: string): Promise<unknown>;
  set(values: Record<string, unknown>, now: number): Promise<void>;
}
