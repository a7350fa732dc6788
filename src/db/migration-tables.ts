/** Kysely's bookkeeping tables, named for Berth so that they sit beside its own. */
export const MIGRATION_TABLE = 'berth_migration';
export const MIGRATION_LOCK_TABLE = 'berth_migration_lock';
