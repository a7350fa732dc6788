import {
  ACTIONS,
  type Action,
  PROJECT_RESOURCES,
  type Principal,
  projectResource,
  ROLE_POLICIES,
  ROLES,
  type SystemResource,
  systemResource,
} from '../domain/permission.js';
import type { ProjectRepo } from '../ports/metadata.js';
import type { AccessService } from './access.service.js';

/** Harbor's Permission item. */
export interface Permission {
  resource: string;
  action: string;
}

/**
 * The (resource, action) pairs of the system namespace, as Harbor lists them for an
 * administrator; non-admins hold the few that `decide` gives every signed-in user.
 */
const SYSTEM_POLICIES: Readonly<Record<SystemResource, readonly Action[]>> = {
  project: ['create', 'list'],
  user: ['create', 'read', 'update', 'delete', 'list'],
  'user-group': ['create', 'read', 'update', 'delete', 'list'],
  configuration: ['read', 'update'],
  'audit-log': ['list'],
  catalog: ['list'],
  robot: ['create', 'read', 'update', 'delete', 'list'],
  label: ['create', 'read', 'update', 'delete', 'list'],
  ldap: ['create', 'list'],
  statistics: ['read'],
  registry: ['create', 'read', 'update', 'delete', 'list'],
  replication: ['create', 'read', 'update', 'delete', 'list'],
  'garbage-collection': ['create', 'read', 'update', 'delete', 'list', 'stop'],
  'scan-all': ['create', 'read', 'update', 'stop'],
  scanner: ['create', 'read', 'update', 'delete', 'list'],
  'security-hub': ['read', 'list'],
  'system-volumes': ['read'],
};

/** Every pair any project role holds, in the order of the resource and action lists. */
const PROJECT_POLICIES: readonly { resource: (typeof PROJECT_RESOURCES)[number]; action: Action }[] = PROJECT_RESOURCES.flatMap((resource) =>
  ACTIONS.filter((action) => ROLES.some((r) => ROLE_POLICIES[r].get(resource)?.has(action))).map((action) => ({ resource, action })),
);

/**
 * Harbor's GET /users/current/permissions: for `scope` `/project/{id}` (or a name) or `/system`,
 * the pairs of that namespace the principal may exercise, each decided by the access service.
 * Resources are `/project/{id}/repository` or, with `relative`, `repository`. Without a
 * recognised scope (or for a project that does not exist) the list is empty.
 */
export async function permissionsIn(
  p: Principal,
  scope: string | undefined,
  relative: boolean,
  deps: { access: Pick<AccessService, 'authorize'>; projects: Pick<ProjectRepo, 'getById' | 'getByName'> },
): Promise<Permission[]> {
  const trimmed = scope?.replace(/\/+$/, '');
  if (trimmed === '/system') {
    const out: Permission[] = [];
    for (const [resource, actions] of Object.entries(SYSTEM_POLICIES) as [SystemResource, readonly Action[]][]) {
      for (const action of actions) {
        if (await deps.access.authorize(p, action, systemResource(resource))) out.push({ resource: relative ? resource : `/system/${resource}`, action });
      }
    }
    return out;
  }
  const m = trimmed === undefined ? null : /^\/project\/([^/]+)$/.exec(trimmed);
  if (!m) return [];
  const key = decodeURIComponent(m[1]!);
  const project = /^[0-9]+$/.test(key) ? await deps.projects.getById(Number(key)) : await deps.projects.getByName(key);
  if (!project) return [];
  const out: Permission[] = [];
  for (const { resource, action } of PROJECT_POLICIES) {
    if (await deps.access.authorize(p, action, projectResource(project.name, resource))) {
      out.push({ resource: relative ? resource : `${trimmed}/${resource}`, action });
    }
  }
  return out;
}
