import { isValidTag } from '../domain/reference.js';
import { badRequest } from '../domain/errors.js';
import type { RepoName } from '../domain/repo-name.js';
import type { Metadata } from '../ports/metadata.js';
import type { RepositoryResolver } from './repositories.js';

export interface ListPage {
  items: string[];
  /** the `last` of the next page, when there is one */
  next?: string;
}

/** Largest page of tags/list and _catalog; a client asking for more gets this and a Link. */
export const MAX_PAGE = 10_000;

export class TagService {
  constructor(private readonly deps: { metadata: Metadata; repositories: RepositoryResolver }) {}

  async list(name: RepoName, n: number | undefined, last: string | undefined): Promise<ListPage> {
    const repo = await this.deps.repositories.find(name);
    if (last !== undefined && last !== '' && !isValidTag(last)) throw badRequest('last is not a tag');
    return page((limit) => this.deps.metadata.tags.list(repo.id, { ...(last ? { last } : {}), limit }), n);
  }

  async catalog(n: number | undefined, last: string | undefined): Promise<ListPage> {
    return page((limit) => this.deps.metadata.repositories.listNames({ ...(last ? { last } : {}), limit }), n);
  }
}

async function page(fetch: (limit: number) => Promise<string[]>, n: number | undefined): Promise<ListPage> {
  const size = Math.min(n ?? MAX_PAGE, MAX_PAGE);
  if (size === 0) return { items: [] };
  const rows = await fetch(size + 1);
  if (rows.length <= size) return { items: rows };
  const items = rows.slice(0, size);
  return { items, next: items[items.length - 1]! };
}
