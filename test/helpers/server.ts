import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { type RunningServer, startServer } from '../../src/server.js';

export const ADMIN_PASSWORD = 'Admin12345';

export interface TestServer {
  url: string;
  /** host:port, for clients that take a registry address */
  host: string;
  dataDir: string;
  server: RunningServer;
  config: Config;
  adminBasic: string;
  stop(): Promise<void>;
}

/**
 * Starts Berth in this process on a free port with a fresh data folder. `env` takes the same
 * BERTH_* variables as the real server (e.g. { BERTH_DATABASE_DRIVER: 'postgres' }).
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const config = loadConfig({
    env: {
      BERTH_LISTEN: '127.0.0.1:0',
      BERTH_DATA_DIR: dataDir,
      BERTH_ADMIN_PASSWORD: ADMIN_PASSWORD,
      BERTH_LOG_LEVEL: process.env['BERTH_TEST_LOG'] ?? 'silent',
      ...env,
    },
    cwd: dataDir,
  });
  const server = await startServer(config, { announce: () => undefined });
  const url = server.url;
  return {
    url,
    host: new URL(url).host,
    dataDir,
    server,
    config,
    adminBasic: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
