/**
 * Who may do what, as data. Project roles follow Harbor's permission matrix (its five roles and
 * their (resource, action) policies); one pure function, `decide`, reads the tables with the
 * facts the access service looked up. Nothing else in Berth decides access.
 */

export const ACTIONS = ['create', 'read', 'update', 'delete', 'list', 'pull', 'push', 'operate', 'stop', 'scanner-pull'] as const;
export type Action = (typeof ACTIONS)[number];

/** Resources inside a project (Harbor's project namespace). */
export const PROJECT_RESOURCES = [
  'project',
  'member',
  'metadata',
  'log',
  'label',
  'quota',
  'repository',
  'tag-retention',
  'immutable-tag',
  'configuration',
  'robot',
  'notification-policy',
  'scan',
  'scanner',
  'artifact',
  'artifact-addition',
  'tag',
  'accessory',
  'artifact-label',
  'preheat-policy',
  'sbom',
  'export-cve',
] as const;
export type ProjectResource = (typeof PROJECT_RESOURCES)[number];

/** Resources of the whole system (Harbor's system namespace). */
export const SYSTEM_RESOURCES = [
  'project',
  'user',
  'user-group',
  'configuration',
  'audit-log',
  'catalog',
  'robot',
  'label',
  'ldap',
  'statistics',
  'registry',
  'replication',
  'garbage-collection',
  'scan-all',
  'scanner',
  'security-hub',
  'system-volumes',
] as const;
export type SystemResource = (typeof SYSTEM_RESOURCES)[number];

export type Resource =
  | { scope: 'project'; project: string; resource: ProjectResource; repository?: string }
  | { scope: 'system'; resource: SystemResource };

export const projectResource = (project: string, resource: ProjectResource): Resource => ({ scope: 'project', project, resource });
export const systemResource = (resource: SystemResource): Resource => ({ scope: 'system', resource });
/** A repository, as /v2 and the token service see it. */
export function repositoryResource(name: string): Resource {
  const slash = name.indexOf('/');
  return { scope: 'project', project: slash < 0 ? name : name.slice(0, slash), resource: 'repository', repository: name };
}

/** Harbor's role ids, as its API spells them (role_id). */
export const ROLE_IDS = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;
export type Role = keyof typeof ROLE_IDS;
export const ROLES = Object.keys(ROLE_IDS) as Role[];
export function roleOfId(id: number): Role | undefined {
  return ROLES.find((r) => ROLE_IDS[r] === id);
}

type Policies = Partial<Record<ProjectResource, string>>;

const expand = (p: Policies): ReadonlyMap<ProjectResource, ReadonlySet<string>> =>
  new Map(Object.entries(p).map(([r, a]) => [r as ProjectResource, new Set(a!.split(' '))]));

/** Harbor's project roles: resource → space-separated actions. */
export const ROLE_POLICIES: Readonly<Record<Role, ReadonlyMap<ProjectResource, ReadonlySet<string>>>> = {
  projectAdmin: expand({
    project: 'read update delete',
    member: 'create read update delete list',
    metadata: 'create read update delete',
    log: 'list',
    label: 'create read update delete list',
    quota: 'read',
    repository: 'create read update delete list pull push',
    'tag-retention': 'create read update delete list operate',
    'immutable-tag': 'create update delete list',
    configuration: 'read update',
    robot: 'create read update delete list',
    'notification-policy': 'create read update delete list',
    scan: 'create read stop',
    scanner: 'read create',
    artifact: 'create read delete list',
    'artifact-addition': 'read',
    tag: 'list create delete',
    accessory: 'list',
    'artifact-label': 'create delete',
    'preheat-policy': 'create read update delete list',
    sbom: 'create read stop',
    'export-cve': 'create read list',
  }),
  maintainer: expand({
    project: 'read',
    member: 'read list',
    metadata: 'create read update delete',
    log: 'list',
    quota: 'read',
    label: 'create read update delete list',
    repository: 'create read update delete list push pull',
    'tag-retention': 'create read update delete list operate',
    accessory: 'list',
    'immutable-tag': 'create update delete list',
    configuration: 'read',
    robot: 'read list',
    'notification-policy': 'list',
    scan: 'create read stop',
    scanner: 'read',
    artifact: 'create read delete list',
    'artifact-addition': 'read',
    tag: 'list create delete',
    'artifact-label': 'create delete',
    sbom: 'create read stop',
    'export-cve': 'create read list',
  }),
  developer: expand({
    project: 'read',
    member: 'read list',
    log: 'list',
    label: 'read list',
    quota: 'read',
    repository: 'create read update list push pull',
    'tag-retention': 'create read update delete list operate',
    configuration: 'read',
    robot: 'read list',
    scan: 'read',
    scanner: 'read',
    artifact: 'create read list',
    'artifact-addition': 'read',
    tag: 'list create',
    accessory: 'list',
    'artifact-label': 'create delete',
    sbom: 'read',
    'export-cve': 'create read list',
  }),
  guest: expand({
    project: 'read',
    member: 'read list',
    log: 'list',
    label: 'read list',
    quota: 'read',
    repository: 'read list pull',
    configuration: 'read',
    robot: 'read list',
    scan: 'read',
    scanner: 'read',
    tag: 'list',
    accessory: 'list',
    artifact: 'read list',
    'artifact-addition': 'read',
    sbom: 'read',
  }),
  limitedGuest: expand({
    project: 'read',
    quota: 'read',
    repository: 'list pull',
    configuration: 'read',
    scan: 'read',
    scanner: 'read',
    tag: 'list',
    accessory: 'list',
    artifact: 'read list',
    'artifact-addition': 'read',
    sbom: 'read',
  }),
};

/** What everybody, anonymous included, may do in a public project. */
export const PUBLIC_POLICIES = expand({
  project: 'read',
  label: 'read list',
  repository: 'list pull read',
  tag: 'list',
  artifact: 'read list',
  'artifact-addition': 'read',
  accessory: 'list',
  scan: 'read',
});

/** A robot account's grant: (resource, action) pairs in one namespace. */
export interface RobotPermission {
  kind: 'project' | 'system';
  /** a project name, `*` for every project (system robots), `/` for the system namespace */
  namespace: string;
  access: { resource: string; action: string }[];
}

/** A grant as the Docker token's `access` claim spells it. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** set when the request carried a bearer token: the token's grants bound what it may do */
export interface TokenBound {
  token?: { access: TokenAccess[] };
}

export type Principal =
  | ({ kind: 'anonymous' } & TokenBound)
  | ({ kind: 'user'; userId: number; username: string; sysadmin: boolean; groupIds?: readonly number[] } & TokenBound)
  | ({ kind: 'robot'; robotId: number; name: string; permissions: RobotPermission[] } & TokenBound);

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function principalName(p: Principal): string {
  return p.kind === 'user' ? p.username : p.kind === 'robot' ? p.name : 'anonymous';
}

/** What the access service looked up for one decision. */
export interface Facts {
  /** for project-scoped resources */
  project?: { exists: boolean; public: boolean; roles: readonly Role[] };
  /** Harbor's project_creation_restriction */
  projectCreation: 'everyone' | 'adminonly';
}

/** System resources every signed-in user may act on (Harbor's system policies for users). */
const SIGNED_IN_SYSTEM: ReadonlyMap<SystemResource, ReadonlySet<string>> = new Map([
  ['project', new Set(['list'])],
  ['label', new Set(['read', 'list'])],
  ['scanner', new Set(['read', 'list'])],
  ['user-group', new Set(['list'])],
  ['user', new Set(['list'])],
]);

/** THE decision, without token bounds. */
export function decide(p: Principal, resource: Resource, action: Action, facts: Facts): boolean {
  if (p.kind === 'user' && p.sysadmin) return true;
  if (p.kind === 'robot') {
    // Harbor's robot evaluator: nothing in a project that does not exist; a public project's
    // policies apply to robots as to everybody else
    if (resource.scope === 'project') {
      if (!facts.project?.exists) return false;
      if (facts.project.public && PUBLIC_POLICIES.get(resource.resource)?.has(action)) return true;
    }
    return robotAllows(p.permissions, resource, action);
  }
  if (resource.scope === 'system') {
    if (p.kind === 'anonymous') return resource.resource === 'project' && action === 'list';
    if (resource.resource === 'project' && action === 'create') return facts.projectCreation === 'everyone';
    return SIGNED_IN_SYSTEM.get(resource.resource)?.has(action) ?? false;
  }
  const project = facts.project;
  if (!project?.exists) return false;
  if (project.public && PUBLIC_POLICIES.get(resource.resource)?.has(action)) return true;
  return project.roles.some((r) => ROLE_POLICIES[r].get(resource.resource)?.has(action));
}

function robotAllows(perms: readonly RobotPermission[], resource: Resource, action: Action): boolean {
  return perms.some((perm) => {
    if (resource.scope === 'system' ? perm.kind !== 'system' : perm.kind !== 'project') return false;
    if (resource.scope === 'project' && perm.namespace !== '*' && perm.namespace !== resource.project) return false;
    // Harbor gives a robot allowed to push the pull that every push needs (filterRobotPolicies)
    const wanted = (a: string) => a === action || a === '*' || (action === 'pull' && a === 'push' && resource.resource === 'repository');
    return perm.access.some((a) => a.resource === resource.resource && wanted(a.action));
  });
}

/** The Docker token actions and the (resource, action) each stands for. */
export const TOKEN_ACTION: Readonly<Record<string, { resource: ProjectResource; action: Action }>> = {
  pull: { resource: 'repository', action: 'pull' },
  push: { resource: 'repository', action: 'push' },
  delete: { resource: 'artifact', action: 'delete' },
};

/** Whether a token's grants cover a repository action (`*` means every action). */
export function tokenCovers(access: readonly TokenAccess[], resource: Resource, action: Action): boolean {
  if (resource.scope === 'system') {
    return resource.resource === 'catalog' && access.some((a) => a.type === 'registry' && a.name === 'catalog' && a.actions.length > 0);
  }
  if (resource.repository === undefined) return false;
  const wanted = Object.entries(TOKEN_ACTION).find(([, v]) => v.resource === resource.resource && v.action === action)?.[0];
  if (!wanted) return false;
  return access.some((a) => a.type === 'repository' && a.name === resource.repository && (a.actions.includes(wanted) || a.actions.includes('*')));
}

/** Parses a Docker token scope `type:name:actions`; the name itself may contain `:` (host:port). */
export function parseScope(scope: string): TokenAccess | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!name || actions.length === 0) return undefined;
  return { type, name, actions };
}
