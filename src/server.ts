import type { Config } from './config/schema.js';
import { type Berth, compose } from './compose.js';
import { RETENTION_INTERVAL_MS } from './services/audit.service.js';

export interface RunningServer {
  berth: Berth;
  /** the bound address, e.g. http://127.0.0.1:5000 */
  url: string;
  stop(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen must be host:port, got ${JSON.stringify(listen)}`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '127.0.0.1' : host, port: Number(m[3]) };
}

/**
 * Starts Berth: database (migrated), first-start bootstrap (admin user, public `library`
 * project), the sweeper of expired uploads, UI sessions and CVE exports, then the listener.
 */
export async function startServer(config: Config, opts: { announce?: (line: string) => void } = {}): Promise<RunningServer> {
  const berth = await compose(config);
  const { logger } = berth;
  const admin = await berth.users.bootstrapAdmin(config.adminPassword);
  if (admin.generated) {
    // printed once, on the terminal, never logged
    (opts.announce ?? ((l) => process.stderr.write(`${l}\n`)))(
      `berth: created user admin with the generated password: ${admin.generated}  (change it with: berth user passwd admin)`,
    );
  } else if (admin.created) {
    logger.info({ user: 'admin' }, 'created user admin with the password from the configuration');
  }
  await berth.projects.ensure('library', true);

  const sweep = async () => {
    try {
      const n = await berth.uploads.sweep();
      if (n) logger.info({ removed: n }, 'swept expired uploads');
    } catch (err) {
      logger.error({ err }, 'upload sweep failed');
    }
    try {
      const n = await berth.sessions.sweep();
      if (n) logger.info({ removed: n }, 'swept expired UI sessions');
    } catch (err) {
      logger.error({ err }, 'session sweep failed');
    }
    try {
      const n = await berth.cveExports.sweep();
      if (n) logger.info({ removed: n }, 'removed expired CVE exports');
    } catch (err) {
      logger.error({ err }, 'CVE export sweep failed');
    }
  };
  await sweep();
  const timer = setInterval(sweep, config.uploads.sweepIntervalSeconds * 1000);
  timer.unref();
  // audit retention (Harbor's audit_log_retention_hours; 0, the default, keeps everything)
  const purgeAudit = async () => {
    try {
      const r = await berth.audit.purgeExpired();
      if (r.deleted) logger.info({ deleted: r.deleted }, 'purged expired audit records');
    } catch (err) {
      logger.error({ err }, 'audit retention failed');
    }
  };
  const auditTimer = setInterval(purgeAudit, RETENTION_INTERVAL_MS);
  auditTimer.unref();

  const { host, port } = parseListen(config.listen);
  const url = await berth.app.listen({ host, port });
  logger.info({ url, database: berth.metadata.dialect, storage: berth.storage.name }, 'berth listening');

  let stopping: Promise<void> | undefined;
  return {
    berth,
    url,
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        clearInterval(auditTimer);
        await berth.close();
      })();
      return stopping;
    },
  };
}
