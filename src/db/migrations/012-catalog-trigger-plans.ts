import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import { ARTIFACT_BLOCK_BITS as B } from './006-catalog.js';

/**
 * 006's SQLite triggers ask "has this manifest a parent index in its repository?" with a join
 * that SQLite's planner drove from `manifests` (every manifest of the repository, by
 * manifests_repo_id) before probing `manifest_children`: each manifest insert cost O(manifests
 * in the repository) — 0.1 ms per row at 1,000 manifests, 3 ms at 20,000. The same triggers,
 * with the join driven from `manifest_children` by child digest (CROSS JOIN fixes SQLite's join
 * order): O(parents of that digest). PostgreSQL's planner already takes that order (checked with
 * EXPLAIN); its functions stay as they are.
 */
const hasParent = (digest: string, repo: string) =>
  `exists (select 1 from manifest_children pc cross join manifests pm on pm.id = pc.manifest_id
           where pc.child_digest = ${digest} and pm.repository_id = ${repo})`;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') return;
  const statements = [
    'drop trigger manifests_listed_insert',
    'drop trigger manifests_listed_delete',
    'drop trigger manifest_children_listed_insert',
    'drop trigger manifest_children_listed_delete',
    `create trigger manifests_listed_insert after insert on manifests
     when new.subject_digest is null and not ${hasParent('new.digest', 'new.repository_id')}
     begin
       insert into artifact_blocks (repository_id, block, n) values (new.repository_id, new.id >> ${B}, 1)
       on conflict (repository_id, block) do update set n = n + 1;
     end`,
    `create trigger manifests_listed_delete after delete on manifests
     when old.subject_digest is null and not ${hasParent('old.digest', 'old.repository_id')}
     begin
       update artifact_blocks set n = n - 1 where repository_id = old.repository_id and block = old.id >> ${B};
       delete from artifact_blocks where repository_id = old.repository_id and block = old.id >> ${B} and n <= 0;
     end`,
    `create trigger manifest_children_listed_insert after insert on manifest_children
     begin
       update artifact_blocks set n = n - 1
       where (repository_id, block) in (
         select c.repository_id, c.id >> ${B} from manifests p
         join manifests c on c.repository_id = p.repository_id and c.digest = new.child_digest
         where p.id = new.manifest_id and c.subject_digest is null
           and (select count(*) from manifest_children pc cross join manifests pm on pm.id = pc.manifest_id
                where pc.child_digest = new.child_digest and pm.repository_id = p.repository_id) = 1);
       delete from artifact_blocks where n <= 0 and (repository_id, block) in (
         select c.repository_id, c.id >> ${B} from manifests p
         join manifests c on c.repository_id = p.repository_id and c.digest = new.child_digest
         where p.id = new.manifest_id);
     end`,
    `create trigger manifest_children_listed_delete after delete on manifest_children
     begin
       insert into artifact_blocks (repository_id, block, n)
       select c.repository_id, c.id >> ${B}, 1 from manifests p
       join manifests c on c.repository_id = p.repository_id and c.digest = old.child_digest
       where p.id = old.manifest_id and c.subject_digest is null
         and not ${hasParent('old.child_digest', 'p.repository_id')}
       on conflict (repository_id, block) do update set n = n + 1;
     end`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}
