/**
 * Who may do what. The rules are data (RULES below) and one pure function reads them; the
 * access service feeds it what it looked up. The identity issue adds project roles as more rows.
 */

export type ResourceType = 'repository' | 'project' | 'catalog' | 'user' | 'system';
export type Action = 'pull' | 'push' | 'delete' | 'read' | 'create' | 'update' | 'list';

export type Resource =
  | { type: 'repository'; name: string; project: string }
  | { type: 'project'; name: string }
  | { type: 'catalog' }
  | { type: 'user'; id?: number }
  | { type: 'system' };

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
  | ({ kind: 'user'; userId: number; username: string; sysadmin: boolean } & TokenBound);

export const ANONYMOUS: Principal = { kind: 'anonymous' };

/** What the access service knows about the project a resource belongs to. */
export interface ProjectFacts {
  exists: boolean;
  public: boolean;
}

export type Standing = 'sysadmin' | 'authenticated' | 'anonymous';

/** Per standing: the actions allowed per resource type, on public projects and in general. */
interface Rule {
  standing: Standing;
  resource: ResourceType;
  actions: readonly Action[];
  /** the rule applies only to resources of public projects */
  publicOnly?: boolean;
}

const ALL: readonly Action[] = ['pull', 'push', 'delete', 'read', 'create', 'update', 'list'];

export const RULES: readonly Rule[] = [
  { standing: 'sysadmin', resource: 'repository', actions: ALL },
  { standing: 'sysadmin', resource: 'project', actions: ALL },
  { standing: 'sysadmin', resource: 'catalog', actions: ALL },
  { standing: 'sysadmin', resource: 'user', actions: ALL },
  { standing: 'sysadmin', resource: 'system', actions: ALL },
  { standing: 'authenticated', resource: 'repository', actions: ['pull'], publicOnly: true },
  { standing: 'authenticated', resource: 'project', actions: ['read'], publicOnly: true },
  { standing: 'authenticated', resource: 'project', actions: ['list'] },
  { standing: 'anonymous', resource: 'repository', actions: ['pull'], publicOnly: true },
  { standing: 'anonymous', resource: 'project', actions: ['read'], publicOnly: true },
  { standing: 'anonymous', resource: 'project', actions: ['list'] },
];

export function standingOf(p: Principal): Standing {
  if (p.kind === 'anonymous') return 'anonymous';
  return p.sysadmin ? 'sysadmin' : 'authenticated';
}

/** The rule check, without token bounds. `project` is undefined for resources outside projects. */
export function isAllowed(p: Principal, resource: Resource, action: Action, project: ProjectFacts | undefined): boolean {
  const standing = standingOf(p);
  return RULES.some(
    (r) =>
      r.standing === standing &&
      r.resource === resource.type &&
      r.actions.includes(action) &&
      (!r.publicOnly || (project?.exists === true && project.public)),
  );
}

/** Whether a token's grants cover the action (Docker token spec: `*` means every action). */
export function tokenCovers(access: readonly TokenAccess[], resource: Resource, action: Action): boolean {
  const { type, name } = tokenTarget(resource);
  return access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')));
}

function tokenTarget(resource: Resource): { type: string; name: string } {
  switch (resource.type) {
    case 'repository':
      return { type: 'repository', name: resource.name };
    case 'catalog':
      return { type: 'registry', name: 'catalog' };
    default:
      return { type: resource.type, name: 'name' in resource ? String(resource.name ?? '') : '' };
  }
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
