import { badRequest, notFound } from '../domain/errors.js';
import { principalName, projectResource, type Resource, systemResource } from '../domain/permission.js';
import type { Label, LabelFilter } from '../ports/catalog-repos.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, Page } from '../ports/metadata.js';
import type { Actor } from './repository.service.js';

export interface LabelInput {
  name?: string;
  description?: string;
  color?: string;
  scope?: string;
  project_id?: number;
}

const MAX_NAME = 128;
const COLOR = /^(#[0-9a-fA-F]{6})?$/;

/** Harbor's labels: global ones (system admins) and project ones (the project's label rights). */
export class LabelService {
  constructor(private readonly deps: { metadata: Metadata; clock: Clock }) {}

  /**
   * The resource whose rights a label operation needs: the system's labels for a global
   * label, the project's for a project label (by the project's name, as decisions take it).
   */
  async resourceFor(scope: string | undefined, projectId: number | undefined): Promise<Resource> {
    if (scope === 'g') {
      if (projectId !== undefined && projectId !== 0) throw badRequest('a global label (scope g) belongs to no project');
      return systemResource('label');
    }
    if (scope !== 'p') throw badRequest('invalid scope: use g (global) or p (project)');
    if (projectId === undefined || projectId <= 0) throw badRequest('a project label (scope p) needs project_id');
    const project = await this.deps.metadata.projects.getById(projectId);
    if (!project) throw notFound(`project ${projectId} not found`);
    return projectResource(project.name, 'label');
  }

  async get(id: number): Promise<Label> {
    const l = await this.deps.metadata.labels.get(id);
    if (!l) throw notFound(`label ${id} not found`);
    return l;
  }

  list(filter: LabelFilter, page: { offset: number; limit: number }): Promise<Page<Label>> {
    return this.deps.metadata.labels.list(filter, page);
  }

  async create(actor: Actor, input: LabelInput): Promise<Label> {
    const scope = input.scope === 'p' ? 'p' : 'g';
    const name = checkName(input.name);
    const color = checkColor(input.color ?? '');
    const now = this.deps.clock.now();
    return this.deps.metadata.transaction(async (tx) => {
      const label = await tx.labels.create({ name, description: input.description ?? '', color, scope, projectId: scope === 'p' ? input.project_id! : 0, now });
      await tx.audit.append(this.event(actor, 'create', label, now));
      return label;
    });
  }

  /** Name, description and color change; the scope and project never do. */
  async update(actor: Actor, id: number, input: LabelInput): Promise<Label> {
    const current = await this.get(id);
    if ((input.scope !== undefined && input.scope !== current.scope) || (input.project_id !== undefined && input.project_id !== current.projectId)) {
      throw badRequest("a label's scope and project cannot change");
    }
    const now = this.deps.clock.now();
    return this.deps.metadata.transaction(async (tx) => {
      const label = await tx.labels.update(id, {
        ...(input.name !== undefined ? { name: checkName(input.name) } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.color !== undefined ? { color: checkColor(input.color) } : {}),
        now,
      });
      if (!label) throw notFound(`label ${id} not found`);
      await tx.audit.append(this.event(actor, 'update', label, now));
      return label;
    });
  }

  async delete(actor: Actor, id: number): Promise<void> {
    const label = await this.get(id);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.labels.delete(id))) throw notFound(`label ${id} not found`);
      await tx.audit.append(this.event(actor, 'delete', label, now));
    });
  }

  private event(actor: Actor, operation: string, l: Label, at: number) {
    return {
      operator: principalName(actor.principal),
      operation,
      resourceType: 'label',
      resource: l.name,
      projectId: l.projectId,
      sourceIp: actor.sourceIp,
      result: 'success' as const,
      detail: { id: l.id, scope: l.scope },
      at,
    };
  }
}

function checkName(name: string | undefined): string {
  const n = (name ?? '').trim();
  if (n === '' || n.length > MAX_NAME) throw badRequest(`a label name must have 1 to ${MAX_NAME} characters`);
  return n;
}

function checkColor(color: string): string {
  if (!COLOR.test(color)) throw badRequest('color must be #RRGGBB');
  return color;
}
