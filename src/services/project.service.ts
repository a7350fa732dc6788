import { badRequest, isRegistryError, notFound, preconditionFailed } from '../domain/errors.js';
import type { Principal, Role } from '../domain/permission.js';
import type { Project } from '../domain/records.js';
import { normalizeProjectMetadata } from '../domain/project-metadata.js';
import { isValidProjectName } from '../domain/repo-name.js';
import type { Clock } from '../ports/clock.js';
import type { Metadata, Page } from '../ports/metadata.js';
import { type Actor, actorFields } from './audit.service.js';
import { type AllowlistInput, parseAllowlist, writeAllowlist } from './cve-allowlist.service.js';

export interface ProjectView extends Project {
  ownerName: string | null;
  repoCount: number;
  /** Harbor's project metadata other than `public` (prevent_vul, severity, auto_scan…) */
  metadata: Record<string, string>;
}

/** What a project's POST/PUT may set beside its name and visibility. */
export interface ProjectSettings {
  /** Harbor's metadata object as sent (checked by normalizeProjectMetadata) */
  metadata?: Readonly<Record<string, unknown>>;
  /** Harbor's cve_allowlist: replaces the project's own list */
  cveAllowlist?: AllowlistInput;
}

function parseSettings(s: ProjectSettings): { entries: Record<string, string>; allowlist?: { items: string[]; expiresAt: number | null } } {
  const md = s.metadata ? normalizeProjectMetadata(s.metadata) : { entries: {} };
  if ('error' in md) throw badRequest(md.error);
  return { entries: md.entries, ...(s.cveAllowlist ? { allowlist: parseAllowlist(s.cveAllowlist) } : {}) };
}

export interface ProjectQuery {
  name?: string;
  nameLike?: string;
  public?: boolean;
  offset: number;
  limit: number;
}

export class ProjectService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      clock: Clock;
      /** called after a change so that cached access decisions are dropped */
      onChange?: (name: string) => void;
      /** called after a project's metadata or allowlist changed (the pull gate's caches) */
      onPolicyChange?: (projectId: number) => void;
    },
  ) {}

  /** `ip`: the source address, for the audit log */
  async create(owner: Principal, input: { name: string; public: boolean } & ProjectSettings, ip?: string): Promise<Project> {
    if (!isValidProjectName(input.name)) {
      throw badRequest(
        `project name ${JSON.stringify(input.name.slice(0, 300))} is invalid: use 1-255 lowercase letters, digits and . _ - , starting and ending with a letter or digit`,
      );
    }
    const settings = parseSettings(input);
    const now = this.deps.clock.now();
    // Harbor: the creator administers the project it created
    const project = await this.deps.metadata.transaction(async (tx) => {
      const p = await tx.projects.create({ name: input.name, public: input.public, ownerId: owner.kind === 'user' ? owner.userId : null, now });
      if (owner.kind === 'user') await tx.members.add({ projectId: p.id, entityType: 'u', entityId: owner.userId, role: 'projectAdmin', now });
      if (Object.keys(settings.entries).length) await tx.projects.setMetadata(p.id, settings.entries);
      await tx.audit.append({
        ...actorFields({ principal: owner, ...(ip ? { ip } : {}) }),
        operation: 'create',
        resourceType: 'project',
        resource: p.name,
        projectId: p.id,
        result: 'success',
        detail: { public: p.public, ...(Object.keys(settings.entries).length ? { metadata: settings.entries } : {}) },
        at: now,
      });
      if (settings.allowlist) await writeAllowlist(tx, p.id, settings.allowlist, now, { principal: owner, ...(ip ? { ip } : {}) }, p.name);
      return p;
    });
    this.deps.onChange?.(project.name);
    return project;
  }

  /** A project by name, or by id when `byId` (Harbor's X-Is-Resource-Name: false). */
  async get(nameOrId: string, byId: boolean): Promise<ProjectView> {
    const p = await this.find(nameOrId, byId);
    return this.view(p);
  }

  async find(nameOrId: string, byId: boolean): Promise<Project> {
    const p = byId ? await this.deps.metadata.projects.getById(Number(nameOrId)) : await this.deps.metadata.projects.getByName(nameOrId);
    if (!p) throw notFound(`project ${nameOrId} not found`);
    return p;
  }

  async exists(name: string): Promise<boolean> {
    return !!(await this.deps.metadata.projects.getByName(name));
  }

  /** Projects the principal may see: all for system admins; public and member projects for others. */
  async list(viewer: Principal, q: ProjectQuery): Promise<Page<ProjectView>> {
    const all = viewer.kind === 'user' && viewer.sysadmin;
    const memberOf = viewer.kind === 'user' && !all ? await this.deps.metadata.members.projectIdsOf(viewer.userId, viewer.groupIds ?? []) : [];
    const page = await this.deps.metadata.projects.list(
      {
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.nameLike !== undefined ? { nameLike: q.nameLike } : {}),
        ...(q.public !== undefined ? { public: q.public } : {}),
        ...(all ? {} : { visibleTo: { projectIds: memberOf } }),
      },
      { offset: q.offset, limit: q.limit },
    );
    return { total: page.total, items: await Promise.all(page.items.map((p) => this.view(p))) };
  }

  async update(nameOrId: string, byId: boolean, patch: { public?: boolean } & ProjectSettings, actor?: Actor): Promise<void> {
    const p = await this.find(nameOrId, byId);
    const settings = parseSettings(patch);
    const hasEntries = Object.keys(settings.entries).length > 0;
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      await tx.projects.update(p.id, { ...(patch.public !== undefined ? { public: patch.public } : {}), now });
      if (hasEntries) await tx.projects.setMetadata(p.id, settings.entries);
      const detail = { ...(patch.public !== undefined ? { public: patch.public } : {}), ...(hasEntries ? { metadata: settings.entries } : {}) };
      await tx.audit.append({ ...actorFields(actor), operation: 'update', resourceType: 'project', resource: p.name, projectId: p.id, result: 'success', detail, at: now });
      if (settings.allowlist) await writeAllowlist(tx, p.id, settings.allowlist, now, actor, p.name);
    });
    this.deps.onChange?.(p.name);
    if (hasEntries || settings.allowlist) this.deps.onPolicyChange?.(p.id);
  }

  /** Harbor refuses to delete a project that still holds repositories (412). */
  async delete(nameOrId: string, byId: boolean, actor?: Actor): Promise<void> {
    const p = await this.find(nameOrId, byId);
    const now = this.deps.clock.now();
    const deleted = await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.projects.deleteIfEmpty(p.id))) return false;
      await tx.audit.append({ ...actorFields(actor), operation: 'delete', resourceType: 'project', resource: p.name, projectId: p.id, result: 'success', at: now });
      return true;
    });
    if (!deleted) {
      throw preconditionFailed(`the project ${p.name} contains repositories and cannot be deleted`, { project: p.name });
    }
    this.deps.onChange?.(p.name);
  }

  /** Harbor's ProjectSummary: repositories and members per role. */
  async summary(p: Project): Promise<{ repoCount: number; members: Record<Role, number> }> {
    const [repoCount, members] = await Promise.all([this.deps.metadata.projects.repositoryCount(p.id), this.deps.metadata.members.countByRole(p.id)]);
    return { repoCount, members };
  }

  /** Harbor's _deletable: a project that holds repositories cannot be deleted. */
  async deletable(p: Project): Promise<{ deletable: boolean; message: string }> {
    const n = await this.deps.metadata.projects.repositoryCount(p.id);
    return n === 0 ? { deletable: true, message: '' } : { deletable: false, message: `the project contains ${n} repositor${n === 1 ? 'y' : 'ies'}` };
  }

  /** Harbor's /metadatas: every entry, `public` included. */
  async metadataOf(p: Project): Promise<Record<string, string>> {
    return { ...(await this.deps.metadata.projects.metadataOf(p.id)), public: String(p.public) };
  }

  /** Removes one metadata entry (its default applies again); `public` is not removable. */
  async deleteMetadata(p: Project, name: string, actor?: Actor): Promise<void> {
    if (name === 'public') throw badRequest('public cannot be deleted: set it to "true" or "false"');
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.projects.deleteMetadata(p.id, name))) throw notFound(`project ${p.name} has no metadata ${name.slice(0, 50)}`);
      await tx.audit.append({ ...actorFields(actor), operation: 'delete', resourceType: 'project_metadata', resource: `${p.name}:${name}`, projectId: p.id, result: 'success', at: now });
    });
    this.deps.onChange?.(p.name);
    this.deps.onPolicyChange?.(p.id);
  }

  /** Creates the project at start-up unless it exists (Harbor's public `library`). */
  async ensure(name: string, isPublic: boolean): Promise<void> {
    if (await this.exists(name)) return;
    try {
      await this.deps.metadata.projects.create({ name, public: isPublic, ownerId: null, now: this.deps.clock.now() });
    } catch (e) {
      // another instance created it at the same moment
      if (!(isRegistryError(e) && e.code === 'CONFLICT')) throw e;
    }
  }

  private async view(p: Project): Promise<ProjectView> {
    const [owner, repoCount, metadata] = await Promise.all([
      p.ownerId === null ? undefined : this.deps.metadata.users.getById(p.ownerId),
      this.deps.metadata.projects.repositoryCount(p.id),
      this.deps.metadata.projects.metadataOf(p.id),
    ]);
    return { ...p, ownerName: owner?.username ?? null, repoCount, metadata };
  }
}
