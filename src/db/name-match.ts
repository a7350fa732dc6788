import { type Expression, type ExpressionBuilder, sql, type SqlBool } from 'kysely';
import type { NameMatch } from '../ports/catalog-repos.js';

/** A LIKE pattern that finds `s` literally: its own `%`, `_` and `\` are escaped. */
export const containsPattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Harbor's exact (or any-of) and fuzzy name matches. Fuzzy is case-insensitive on both
 * dialects: lower() on both sides, because SQLite's LIKE ignores ASCII case and PostgreSQL's
 * does not.
 */
export function nameMatches<DB, TB extends keyof DB>(eb: ExpressionBuilder<DB, TB>, column: Expression<string>, m: NameMatch): Expression<SqlBool> {
  if ('fuzzy' in m) return sql<SqlBool>`lower(${column}) like lower(${containsPattern(m.fuzzy)}) escape '\\'`;
  if (m.exact.length === 0) return sql<SqlBool>`1 = 0`;
  return eb(column as never, 'in', m.exact as never);
}
