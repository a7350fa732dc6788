import { type Principal, projectResource } from '../domain/permission.js';
import type { Metadata } from '../ports/metadata.js';
import type { AccessService } from './access.service.js';

/** The projects whose repositories a viewer may list, besides the public ones. */
export type Visibility = { all: true } | { all: false; projectIds: number[] };

/**
 * System admins see every project; users the projects they (or their groups) are members of;
 * robots the projects their grants name (`*`: all) where the one decision lets them list
 * repositories; everybody the public ones.
 */
export async function visibleProjects(p: Principal, deps: { metadata: Pick<Metadata, 'members' | 'groups' | 'projects'>; access: AccessService }): Promise<Visibility> {
  if (p.kind === 'user') {
    if (p.sysadmin) return { all: true };
    const groupIds = p.groupIds ?? (p.token ? await deps.metadata.groups.groupIdsOf(p.userId) : []);
    return { all: false, projectIds: await deps.metadata.members.projectIdsOf(p.userId, groupIds) };
  }
  if (p.kind === 'robot') {
    const namespaces = new Set(p.permissions.filter((g) => g.kind === 'project' && g.access.some((a) => a.resource === 'repository')).map((g) => g.namespace));
    if (namespaces.has('*')) return { all: true };
    const ids: number[] = [];
    for (const name of namespaces) {
      const project = await deps.metadata.projects.getByName(name);
      if (project && (await deps.access.authorize(p, 'list', projectResource(name, 'repository')))) ids.push(project.id);
    }
    return { all: false, projectIds: ids };
  }
  return { all: false, projectIds: [] };
}
