import { nameUnknown } from '../domain/errors.js';
import type { Repository } from '../domain/records.js';
import type { RepoName } from '../domain/repo-name.js';
import type { Clock } from '../ports/clock.js';
import type { MetadataRepos } from '../ports/metadata.js';

/** Finds repositories for reads and creates them, inside their project, for pushes. */
export class RepositoryResolver {
  constructor(private readonly deps: { metadata: Pick<MetadataRepos, 'repositories' | 'projects'>; clock: Clock }) {}

  async find(name: RepoName): Promise<Repository> {
    const r = await this.deps.metadata.repositories.getByName(name.value);
    if (!r) throw nameUnknown(name.value);
    return r;
  }

  async findOrUndefined(name: RepoName): Promise<Repository | undefined> {
    return this.deps.metadata.repositories.getByName(name.value);
  }

  /** The repository a push goes to; the project must exist already (it is never implied). */
  async forPush(name: RepoName): Promise<Repository> {
    const existing = await this.deps.metadata.repositories.getByName(name.value);
    if (existing) return existing;
    const project = await this.deps.metadata.projects.getByName(name.project);
    if (!project) {
      throw nameUnknown(
        name.value,
        `project ${name.project} does not exist; create it first (POST /api/v2.0/projects) or push to an existing project`,
      );
    }
    return this.deps.metadata.repositories.ensure(project.id, name.value, this.deps.clock.now());
  }
}
