import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Harbor's artifact listing at any depth without an OFFSET scan.
 *
 * An artifact list shows the "listed" manifests of a repository: those that are neither the
 * child of an index in the same repository nor an accessory (a manifest with a subject), as
 * Harbor lists only root artifacts. `artifact_blocks` counts them per block of 1024 manifest
 * ids: page N of the push-ordered list is found by summing the counts of a repository's blocks
 * (one small row per 1024 ids) up to the block holding position (N-1)*size, then seeking into
 * the manifest index from that block's first id and skipping fewer than 1024 rows. The sum of
 * all counts is X-Total-Count.
 *
 * Triggers keep the counts in the transaction of every change, whoever makes it (the /v2 push
 * path, deletes, copies): a manifest counts when it is inserted without a subject and without
 * a parent; an index's child stops counting when its first parent arrives and counts again
 * when its last parent goes. Blocks whose count falls to zero are removed, so a repository
 * emptied by retention keeps no rows.
 */
export const ARTIFACT_BLOCK_BITS = 10;

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const pg = dialect === 'postgres';
  const big = pg ? 'bigint' : 'integer';

  // no foreign key: cascaded deletes of a repository run the triggers below, which must not
  // refer to the repository being deleted; the repository delete removes its rows itself
  await db.schema
    .createTable('artifact_blocks')
    .addColumn('repository_id', big, (c) => c.notNull())
    .addColumn('block', big, (c) => c.notNull())
    .addColumn('n', big, (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_blocks_pk', ['repository_id', 'block'])
    .execute();
  // the seek into a block: repository, then id order
  await db.schema.createIndex('manifests_repo_id').on('manifests').columns(['repository_id', 'id']).execute();

  // Harbor's tags have an id; SQLite's tags rows have one already (rowid)
  if (pg) await sql`alter table tags add column id bigserial`.execute(db);

  if (pg) await postgresTriggers(db);
  else await sqliteTriggers(db);

  await sql`
    insert into artifact_blocks (repository_id, block, n)
    select m.repository_id, m.id >> ${sql.lit(ARTIFACT_BLOCK_BITS)}, count(*)
    from manifests m
    where m.subject_digest is null
      and not exists (select 1 from manifest_children mc join manifests p on p.id = mc.manifest_id
                      where mc.child_digest = m.digest and p.repository_id = m.repository_id)
    group by m.repository_id, m.id >> ${sql.lit(ARTIFACT_BLOCK_BITS)}`.execute(db);
}

const B = ARTIFACT_BLOCK_BITS;

/** whether a manifest `<m>` of repository `<r>` has a parent index there */
const hasParent = (digest: string, repo: string) =>
  `exists (select 1 from manifest_children pc join manifests pm on pm.id = pc.manifest_id
           where pc.child_digest = ${digest} and pm.repository_id = ${repo})`;

async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  // SQLite has one writer at a time: row triggers see every earlier change and race with none
  const statements = [
    `create trigger manifests_listed_insert after insert on manifests
     when new.subject_digest is null and not ${hasParent('new.digest', 'new.repository_id')}
     begin
       insert into artifact_blocks (repository_id, block, n) values (new.repository_id, new.id >> ${B}, 1)
       on conflict (repository_id, block) do update set n = n + 1;
     end`,
    // children rows first, so that the trigger below sees the parent when its children go
    `create trigger manifests_children_first before delete on manifests
     begin
       delete from manifest_children where manifest_id = old.id;
     end`,
    `create trigger manifests_listed_delete after delete on manifests
     when old.subject_digest is null and not ${hasParent('old.digest', 'old.repository_id')}
     begin
       update artifact_blocks set n = n - 1 where repository_id = old.repository_id and block = old.id >> ${B};
       delete from artifact_blocks where repository_id = old.repository_id and block = old.id >> ${B} and n <= 0;
     end`,
    // the child's first parent: it was listed, it is not any more
    `create trigger manifest_children_listed_insert after insert on manifest_children
     begin
       update artifact_blocks set n = n - 1
       where (repository_id, block) in (
         select c.repository_id, c.id >> ${B} from manifests p
         join manifests c on c.repository_id = p.repository_id and c.digest = new.child_digest
         where p.id = new.manifest_id and c.subject_digest is null
           and (select count(*) from manifest_children pc join manifests pm on pm.id = pc.manifest_id
                where pc.child_digest = new.child_digest and pm.repository_id = p.repository_id) = 1);
       delete from artifact_blocks where n <= 0 and (repository_id, block) in (
         select c.repository_id, c.id >> ${B} from manifests p
         join manifests c on c.repository_id = p.repository_id and c.digest = new.child_digest
         where p.id = new.manifest_id);
     end`,
    // the child's last parent went: it is listed again
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

/**
 * PostgreSQL runs transactions side by side. Two indexes gaining (or losing) the same child at
 * once would each see only their own parent row and both count the change; so the child rows
 * are locked (in id order, to rule out deadlocks between such transactions) before their
 * parents are counted, and under READ COMMITTED the count then sees the other's commit.
 */
async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create function berth_artifact_listed_insert() returns trigger language plpgsql as $$
     begin
       if new.subject_digest is null and not ${hasParent('new.digest', 'new.repository_id')} then
         insert into artifact_blocks (repository_id, block, n) values (new.repository_id, new.id >> ${B}, 1)
         on conflict (repository_id, block) do update set n = artifact_blocks.n + 1;
       end if;
       return null;
     end $$`,
    `create trigger manifests_listed_insert after insert on manifests
     for each row execute function berth_artifact_listed_insert()`,
    `create function berth_manifest_children_first() returns trigger language plpgsql as $$
     begin
       delete from manifest_children where manifest_id = old.id;
       return old;
     end $$`,
    `create trigger manifests_children_first before delete on manifests
     for each row execute function berth_manifest_children_first()`,
    `create function berth_artifact_listed_delete() returns trigger language plpgsql as $$
     begin
       if old.subject_digest is null and not ${hasParent('old.digest', 'old.repository_id')} then
         update artifact_blocks set n = n - 1 where repository_id = old.repository_id and block = old.id >> ${B};
         delete from artifact_blocks where repository_id = old.repository_id and block = old.id >> ${B} and n <= 0;
       end if;
       return null;
     end $$`,
    `create trigger manifests_listed_delete after delete on manifests
     for each row execute function berth_artifact_listed_delete()`,
    `create function berth_children_listed_insert() returns trigger language plpgsql as $$
     declare c record;
     begin
       for c in
         select distinct m.id, m.repository_id, m.digest, (select count(*) from added a2 where a2.child_digest = m.digest
                                                             and a2.manifest_id in (select id from manifests where repository_id = m.repository_id)) as fresh
         from added a join manifests p on p.id = a.manifest_id
         join manifests m on m.repository_id = p.repository_id and m.digest = a.child_digest
         where m.subject_digest is null order by m.id
       loop
         perform 1 from manifests where id = c.id for update;
         if (select count(*) from manifest_children pc join manifests pm on pm.id = pc.manifest_id
             where pc.child_digest = c.digest and pm.repository_id = c.repository_id) = c.fresh then
           update artifact_blocks set n = n - 1 where repository_id = c.repository_id and block = c.id >> ${B};
           delete from artifact_blocks where repository_id = c.repository_id and block = c.id >> ${B} and n <= 0;
         end if;
       end loop;
       return null;
     end $$`,
    `create trigger manifest_children_listed_insert after insert on manifest_children
     referencing new table as added for each statement execute function berth_children_listed_insert()`,
    `create function berth_children_listed_delete() returns trigger language plpgsql as $$
     declare c record;
     begin
       for c in
         select distinct m.id, m.repository_id, m.digest
         from removed r join manifests p on p.id = r.manifest_id
         join manifests m on m.repository_id = p.repository_id and m.digest = r.child_digest
         where m.subject_digest is null order by m.id
       loop
         perform 1 from manifests where id = c.id for update;
         if not ${hasParent('c.digest', 'c.repository_id')} then
           insert into artifact_blocks (repository_id, block, n) values (c.repository_id, c.id >> ${B}, 1)
           on conflict (repository_id, block) do update set n = artifact_blocks.n + 1;
         end if;
       end loop;
       return null;
     end $$`,
    `create trigger manifest_children_listed_delete after delete on manifest_children
     referencing old table as removed for each statement execute function berth_children_listed_delete()`,
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}
