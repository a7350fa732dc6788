import { randomInt } from 'node:crypto';
import { badRequest, forbidden, notFound } from '../domain/errors.js';
import {
  type Action,
  type Principal,
  principalName,
  type ProjectResource,
  projectResource,
  type Resource,
  ROLE_POLICIES,
  type RobotPermission,
  type SystemResource,
  systemResource,
} from '../domain/permission.js';
import type { AuditEvent } from '../ports/audit-repo.js';
import type { Clock } from '../ports/clock.js';
import type { RobotRecord } from '../ports/identity-repos.js';
import type { Metadata, Page } from '../ports/metadata.js';
import type { PasswordHasher } from '../ports/password-hasher.js';
import type { AccessService } from './access.service.js';
import { type Actor, actorFields } from './audit.service.js';
import { checkPasswordPolicy } from './user.service.js';

/** The prefix AccessService recognises robot credentials by. */
export const ROBOT_PREFIX = 'robot$';
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DAY_MS = 86_400_000;
/** Harbor takes any int32; Berth stops where an expiry date is still a date (~27,000 years) */
const MAX_DURATION_DAYS = 10_000_000;
const DEFAULT_DURATION_DAYS = 30;

/** Every (resource, action) some project role holds: the project permissions a robot may get. */
const PROJECT_PAIRS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const m = new Map<string, Set<string>>();
  for (const policies of Object.values(ROLE_POLICIES)) {
    for (const [resource, actions] of policies) for (const a of actions) (m.get(resource) ?? m.set(resource, new Set()).get(resource)!).add(a);
  }
  return m;
})();

/**
 * The system permissions a robot may get: Harbor's robot permission dictionary, restricted to
 * Berth's system resources. Users, groups, configuration and robots themselves stay out of a
 * robot's reach, as in Harbor.
 */
const SYSTEM_PAIRS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    'audit-log': 'list',
    project: 'list create',
    replication: 'read list create update delete',
    registry: 'read list create update delete',
    'scan-all': 'read create update stop',
    'security-hub': 'read list',
    'system-volumes': 'read',
    'garbage-collection': 'read list create update stop',
    scanner: 'read list create update delete',
    label: 'read create update delete',
    // Harbor says catalog:read; Berth's /v2/_catalog asks for list
    catalog: 'read list',
  } satisfies Partial<Record<SystemResource, string>>).map(([r, a]) => [r, new Set(a.split(' '))]),
);

export interface RobotAccessInput {
  resource: string;
  action: string;
  effect?: string;
}

export interface RobotPermissionInput {
  kind: string;
  namespace: string;
  access: RobotAccessInput[];
}

export interface RobotInput {
  /** without the prefix (Harbor's RobotCreate.name) */
  name: string;
  description?: string;
  level: string;
  disable?: boolean;
  /** days; -1 never expires; 0 or absent: robot_token_duration */
  duration?: number;
  permissions: RobotPermissionInput[];
  /** a secret of the caller's choosing (Harbor's RobotCreate.secret), else one is generated */
  secret?: string;
}

/** A request checked for shape, with the resource its caller must be authorised on. */
export interface RobotDraft {
  name: string;
  description: string;
  level: 'system' | 'project';
  /** the project of a project-level robot */
  project: string | undefined;
  disabled: boolean;
  /** days as asked: -1 never, 0 the configured default, undefined the default (create) or unchanged (update) */
  duration: number | undefined;
  permissions: RobotPermission[];
  secret: string | undefined;
  /** the `robot` resource of the robot's level: authorise the caller on it */
  resource: Resource;
}

export interface RobotView extends RobotRecord {
  /** the project of a project-level robot */
  project: string | undefined;
}

export interface RobotCreated {
  robot: RobotRecord;
  /** shown once; only its hash is stored */
  secret: string;
}

const robotResource = (level: 'system' | 'project', project: string | undefined): Resource =>
  // a project robot whose project is gone is left to system administrators
  level === 'project' && project !== undefined ? projectResource(project, 'robot') : systemResource('robot');

/** 32 letters and digits with the policy's classes, as Harbor's generated secrets are. */
export function generateRobotSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (;;) {
    let s = '';
    for (let i = 0; i < 32; i++) s += alphabet[randomInt(alphabet.length)];
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s)) return s;
  }
}

/**
 * Robot accounts (Harbor's robot v2 API). A robot's grant is a list of (namespace, resource,
 * action) that the creator holds at creation time; project-level robots stay inside their
 * project; system robots over every project (`*`) are a system administrator's to make. The
 * secret is returned once and stored hashed.
 */
export class RobotService {
  constructor(
    private readonly deps: {
      metadata: Metadata;
      hasher: PasswordHasher;
      clock: Clock;
      access: Pick<AccessService, 'authorize'>;
      /** called after a change so that cached robot credentials and decisions are dropped */
      onChange?: () => void;
    },
  ) {}

  /**
   * Harbor's GET /permissions: the (resource, action) pairs a robot can be given, project-level
   * for every signed-in user and system-level for system admins only (what the robot dialog
   * offers).
   */
  permissionCatalog(sysadmin: boolean): { system?: { resource: string; action: string }[]; project: { resource: string; action: string }[] } {
    const flat = (m: ReadonlyMap<string, ReadonlySet<string>>) =>
      [...m].sort(([a], [b]) => a.localeCompare(b)).flatMap(([resource, actions]) => [...actions].sort().map((action) => ({ resource, action })));
    return { ...(sysadmin ? { system: flat(SYSTEM_PAIRS) } : {}), project: flat(PROJECT_PAIRS) };
  }

  /** Checks the request's shape (Harbor's validate): 400 for anything malformed. */
  draft(input: RobotInput): RobotDraft {
    if (input.level !== 'system' && input.level !== 'project') throw badRequest(`bad request error level input: ${String(input.level).slice(0, 20)}`);
    const level = input.level;
    if (!NAME.test(input.name) || input.name.length > 255) {
      throw badRequest('robot name is not in lower case or contains illegal characters: use letters, digits and . _ - between them');
    }
    if (input.duration !== undefined && (!Number.isInteger(input.duration) || input.duration < -1 || input.duration > MAX_DURATION_DAYS)) {
      throw badRequest(`bad request error duration input: ${input.duration}; use -1 (never expires) or 1-${MAX_DURATION_DAYS} days`);
    }
    if (input.secret !== undefined) checkPasswordPolicy(input.secret);
    const permissions = input.permissions.map((p) => this.permission(p, level));
    if (permissions.length === 0) throw badRequest('bad request empty permission');
    if (level === 'project' && permissions.length !== 1) throw badRequest('a project-level robot has exactly one permission, of kind project, in its project');
    const project = level === 'project' ? permissions[0]!.namespace : undefined;
    return {
      name: input.name,
      description: input.description ?? '',
      level,
      project,
      disabled: input.disable ?? false,
      duration: input.duration,
      permissions,
      secret: input.secret,
      resource: robotResource(level, project),
    };
  }

  private permission(p: RobotPermissionInput, level: 'system' | 'project'): RobotPermission {
    if (p.kind !== 'project' && p.kind !== 'system') throw badRequest(`permission kind ${String(p.kind).slice(0, 20)} is invalid: use project or system`);
    if (level === 'project' && p.kind !== 'project') throw badRequest('a project-level robot has project permissions only');
    if (p.kind === 'project' && (!p.namespace || (p.namespace === '*' && level === 'project'))) {
      throw badRequest('a project permission names its project in namespace (or * for every project, system robots only)');
    }
    if (p.access.length === 0) throw badRequest('bad request empty access');
    const pairs = p.kind === 'project' ? PROJECT_PAIRS : SYSTEM_PAIRS;
    const seen = new Set<string>();
    const access: RobotPermission['access'] = [];
    for (const a of p.access) {
      if (a.effect !== undefined && a.effect !== '' && a.effect !== 'allow') throw badRequest(`access effect ${a.effect.slice(0, 20)} is not supported: robots are granted, never denied`);
      if (!pairs.get(a.resource)?.has(a.action)) {
        throw badRequest(`${p.kind} permission ${a.resource.slice(0, 50)}:${a.action.slice(0, 20)} does not exist or cannot be given to a robot`);
      }
      const key = `${a.resource}\0${a.action}`;
      if (!seen.has(key)) access.push({ resource: a.resource, action: a.action });
      seen.add(key);
    }
    return { kind: p.kind, namespace: p.kind === 'system' ? '/' : p.namespace, access };
  }

  /** Creates the robot; the caller is authorised on `draft.resource` with create. */
  async create(actor: Actor, draft: RobotDraft): Promise<RobotCreated> {
    const projectId = await this.checkGrant(actor.principal, draft);
    const now = this.deps.clock.now();
    const durationDays = draft.duration === undefined || draft.duration === 0 ? await this.defaultDuration() : draft.duration;
    const secret = draft.secret ?? generateRobotSecret();
    const secretHash = await this.deps.hasher.hash(secret);
    const name = `${ROBOT_PREFIX}${draft.level === 'project' ? `${draft.project}+` : ''}${draft.name}`;
    const robot = await this.deps.metadata.transaction(async (tx) => {
      const r = await tx.robots.create({
        name,
        description: draft.description,
        level: draft.level,
        projectId,
        durationDays,
        expiresAt: durationDays === -1 ? -1 : now + durationDays * DAY_MS,
        disabled: draft.disabled,
        creator: principalName(actor.principal),
        permissions: draft.permissions,
        secretHash,
        now,
      });
      await tx.audit.append(this.event(actor, r, 'create', now, { level: r.level, duration: durationDays, permissions: r.permissions }));
      return r;
    });
    this.deps.onChange?.();
    return { robot, secret };
  }

  async get(id: number): Promise<RobotView> {
    const r = await this.deps.metadata.robots.getById(id);
    if (!r) throw notFound(`robot ${id} not found`);
    const project = r.projectId === null ? undefined : (await this.deps.metadata.projects.getById(r.projectId))?.name;
    return { ...r, project };
  }

  /** The name part of a full robot name (`robot$proj+ci` → `ci`); Harbor's PUT sends the full name. */
  namePart(r: RobotView, given: string): string {
    const full = r.name.slice(ROBOT_PREFIX.length);
    const short = r.project ? full.slice(r.project.length + 1) : full;
    return given === r.name || given === full ? short : given;
  }

  /** The `robot` resource the caller must be authorised on to act on this robot. */
  resourceOf(r: RobotView): Resource {
    return robotResource(r.level, r.project);
  }

  /** The project a project-level listing is for, by id (Harbor's q=Level=project,ProjectID=…). */
  async projectById(id: number): Promise<{ id: number; name: string }> {
    const p = await this.deps.metadata.projects.getById(id);
    if (!p) throw notFound(`project ${id} not found`);
    return p;
  }

  /** `name` matches a part of the full name, or the whole full name when `exact` */
  async list(
    filter: { level: 'system' | 'project'; projectId?: number; name?: { exact: boolean; value: string } },
    page: { offset: number; limit: number },
  ): Promise<Page<RobotRecord>> {
    const { name, ...rest } = filter;
    if (!name?.exact) return this.deps.metadata.robots.list({ ...rest, ...(name ? { name: name.value } : {}) }, page);
    // names are unique: an exact name is one robot or none
    const found = (await this.deps.metadata.robots.getWithSecret(name.value))?.robot;
    const match = found && found.level === filter.level && (filter.projectId === undefined || found.projectId === filter.projectId) ? [found] : [];
    return { total: match.length, items: match.slice(page.offset, page.offset + page.limit) };
  }

  /**
   * Harbor's PUT: name and level stay; description, disable, duration (counted from the
   * creation time) and permissions change, the permissions within the caller's own rights.
   */
  async update(actor: Actor, existing: RobotView, draft: RobotDraft): Promise<void> {
    if (draft.level !== existing.level || draft.name !== this.namePart(existing, existing.name) || draft.project !== existing.project) {
      throw badRequest('cannot update the level or name of robot');
    }
    await this.checkGrant(actor.principal, draft);
    const now = this.deps.clock.now();
    const durationDays = draft.duration === undefined ? existing.durationDays : draft.duration === 0 ? await this.defaultDuration() : draft.duration;
    const patch = {
      description: draft.description,
      disabled: draft.disabled,
      permissions: draft.permissions,
      ...(durationDays !== existing.durationDays
        ? { durationDays, expiresAt: durationDays === -1 ? -1 : existing.createdAt + durationDays * DAY_MS }
        : {}),
      now,
    };
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.robots.update(existing.id, patch))) throw notFound(`robot ${existing.id} not found`);
      await tx.audit.append(
        this.event(actor, existing, 'update', now, { disable: draft.disabled, duration: durationDays, permissions: draft.permissions }),
      );
    });
    this.deps.onChange?.();
  }

  /** Harbor's PATCH: a new generated secret (returned once), or the caller's own. */
  async refreshSecret(actor: Actor, existing: RobotView, secret: string | undefined): Promise<string | undefined> {
    if (secret !== undefined && secret !== '') checkPasswordPolicy(secret);
    const next = secret || generateRobotSecret();
    const hash = await this.deps.hasher.hash(next);
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.robots.setSecret(existing.id, hash, now))) throw notFound(`robot ${existing.id} not found`);
      await tx.audit.append(this.event(actor, existing, 'update', now, { secret: secret ? 'set' : 'refreshed' }));
    });
    this.deps.onChange?.();
    return secret ? undefined : next;
  }

  async delete(actor: Actor, existing: RobotView): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.metadata.transaction(async (tx) => {
      if (!(await tx.robots.delete(existing.id))) throw notFound(`robot ${existing.id} not found`);
      await tx.audit.append(this.event(actor, existing, 'delete', now, { level: existing.level }));
    });
    this.deps.onChange?.();
  }

  /**
   * A robot's grant is never wider than its creator's: every (namespace, resource, action) goes
   * through the one authorize decision for the creator. Returns the project id of a
   * project-level robot; 404 when a named project does not exist.
   */
  private async checkGrant(creator: Principal, draft: RobotDraft): Promise<number | null> {
    const sysadmin = creator.kind === 'user' && creator.sysadmin;
    for (const perm of draft.permissions) {
      if (perm.kind === 'project' && perm.namespace === '*') {
        if (!sysadmin) throw forbidden('only a system administrator grants permissions in every project (namespace *)');
        continue;
      }
      for (const a of perm.access) {
        const target = perm.kind === 'system' ? systemResource(a.resource as SystemResource) : projectResource(perm.namespace, a.resource as ProjectResource);
        if (!(await this.deps.access.authorize(creator, a.action as Action, target))) {
          throw forbidden(`a robot cannot get ${a.resource}:${a.action} in ${perm.namespace}: its creator does not hold it`);
        }
      }
    }
    let projectId: number | null = null;
    for (const perm of draft.permissions) {
      if (perm.kind !== 'project' || perm.namespace === '*') continue;
      const p = await this.deps.metadata.projects.getByName(perm.namespace);
      if (!p) throw notFound(`project ${perm.namespace} not found`);
      if (draft.level === 'project') projectId = p.id;
    }
    return projectId;
  }

  private async defaultDuration(): Promise<number> {
    const v = Number(await this.deps.metadata.config.get('robot_token_duration'));
    return Number.isInteger(v) && (v === -1 || (v >= 1 && v <= MAX_DURATION_DAYS)) ? v : DEFAULT_DURATION_DAYS;
  }

  private event(actor: Actor, r: RobotRecord, operation: string, at: number, detail: Record<string, unknown>): AuditEvent {
    return {
      ...actorFields(actor),
      operation,
      resourceType: 'robot',
      resource: r.name,
      ...(r.projectId !== null ? { projectId: r.projectId } : {}),
      result: 'success',
      detail,
      at,
    };
  }
}

