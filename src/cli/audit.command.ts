import type { Config } from '../config/schema.js';
import { openDatabase } from '../compose.js';
import { systemClock } from '../ports/clock.js';
import { AuditService } from '../services/audit.service.js';

/**
 * `berth audit verify [--from ID] [--to ID]`: walks the audit log's hash chain and prints the
 * first broken link; exit status 0 when the chain is intact, 1 when it is not.
 */
export async function commandAudit(config: Config, sub: string | undefined, opts: { from?: string; to?: string }): Promise<number> {
  if (sub !== 'verify') {
    process.stderr.write('usage: berth audit verify [--from ID] [--to ID]\n');
    return 2;
  }
  const id = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new Error(`--${name} must be a record id`);
    return Number(v);
  };
  const fromId = id('from', opts.from);
  const toId = id('to', opts.to);
  const metadata = await openDatabase(config);
  try {
    const audit = new AuditService({ metadata, clock: systemClock });
    const r = await audit.verify({ ...(fromId !== undefined ? { fromId } : {}), ...(toId !== undefined ? { toId } : {}) });
    if (r.ok) {
      process.stdout.write(
        r.checked === 0
          ? 'audit log: no records to verify\n'
          : `audit log intact: ${r.checked} records, ids ${r.firstId}..${r.lastId}, head ${r.head}\n`,
      );
      return 0;
    }
    if (r.broken) {
      process.stdout.write(
        `audit log BROKEN at record ${r.broken.id}: ${r.broken.reason === 'hash' ? 'its content does not match its hash' : "its prev_hash is not its predecessor's hash"} (expected ${r.broken.expected}, found ${r.broken.actual}); ${r.checked} records before it are intact\n`,
      );
    } else {
      process.stdout.write(`audit log BROKEN at its start (record ${r.firstId}): prev_hash ${r.anchor} is neither the genesis hash nor the anchor of a recorded retention purge\n`);
    }
    return 1;
  } finally {
    await metadata.close();
  }
}
