import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeKysely, openKysely } from '../../src/db/dialect.js';
import { openMetadata } from '../../src/db/metadata.js';
import { describeMetadata } from '../suites/metadata.suite.js';

describeMetadata('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sqlite-'));
  const path = join(dir, 'berth.db');
  const metadata = await openMetadata({ driver: 'sqlite', path });
  // a second connection to the same file, to read the tables the port has no reader for
  const raw = openKysely({ driver: 'sqlite', path });
  return {
    metadata,
    edges: async (manifestId) => ({
      blobs: (await raw.selectFrom('manifest_blobs').select('digest').where('manifest_id', '=', manifestId).execute()).map((r) => r.digest),
      children: (await raw.selectFrom('manifest_children').select('child_digest').where('manifest_id', '=', manifestId).execute()).map((r) => r.child_digest),
    }),
    cleanup: async () => {
      await closeKysely(raw);
      await metadata.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
