import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type as T } from '@sinclair/typebox';

/** Harbor caps page_size at 100; Berth allows 1000. */
export const MAX_PAGE_SIZE = 1000;

export const PagingQuery = {
  page: T.Optional(T.Integer({ minimum: 1, default: 1 })),
  page_size: T.Optional(T.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 10 })),
};

export function pageWindow(q: { page?: number; page_size?: number }): { page: number; size: number; offset: number } {
  const page = q.page ?? 1;
  const size = q.page_size ?? 10;
  return { page, size, offset: (page - 1) * size };
}

/**
 * Harbor's X-Total-Count and Link (prev/next) headers. A negative `total` is Harbor's -1, a
 * count not taken (`tune_count`): the next page is linked, as there may be one.
 */
export function setPageHeaders(req: FastifyRequest, reply: FastifyReply, total: number, page: number, size: number): void {
  reply.header('x-total-count', String(total < 0 ? -1 : total));
  const [path, qs] = (req.raw.url ?? '').split('?');
  const links: string[] = [];
  const at = (p: number) => {
    const params = new URLSearchParams(qs ?? '');
    params.set('page', String(p));
    params.set('page_size', String(size));
    return `<${path}?${params.toString()}>`;
  };
  if (page > 1) links.push(`${at(page - 1)}; rel="prev"`);
  if (total < 0 || page * size < total) links.push(`${at(page + 1)}; rel="next"`);
  if (links.length) reply.header('link', links.join(' , '));
}
