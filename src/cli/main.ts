#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { ConfigError, configJsonSchema, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { startServer } from '../server.js';
import { commandAudit } from './audit.command.js';
import { commandUser } from './user.command.js';
import { commandVulndb } from './vulndb.command.js';
import { commandWorker } from './worker.command.js';

const USAGE = `usage: berth <command> [options]

commands:
  serve                         start the registry (the default)
  worker                        run queued jobs (scans, CVE exports) without serving HTTP,
                                beside instances started with jobs.inProcess false
  user create <name> [--admin] [--password-stdin]
  user passwd <name> [--password-stdin]
  config check                  validate the configuration and print the result (secrets hidden)
  config schema                 print the configuration's JSON Schema
  audit verify [--from ID] [--to ID]
                                check the audit log's hash chain (exit 1 at the first broken link)
  vulndb import PATH...         import OSV zips/folders, a KEV catalog, EPSS scores (docs/vulndb.md)
  vulndb status | update        the vulnerability database's sources; fetch from the mirror now

options:
  --config FILE                 YAML configuration (default ./berth.yaml when present)
  -h, --help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      admin: { type: 'boolean' },
      'password-stdin': { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [cmd = 'serve', sub, ...rest] = positionals;
  const load = (): Config => loadConfig(values.config ? { file: values.config } : {});

  switch (cmd) {
    case 'serve':
      return serve(load());
    case 'worker':
      return commandWorker(load());
    case 'config':
      if (sub === 'schema') {
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return 0;
      }
      if (sub === 'check') {
        const c = load();
        process.stdout.write(`${JSON.stringify(redact(c), null, 2)}\nconfiguration is valid\n`);
        return 0;
      }
      break;
    case 'audit':
      return commandAudit(load(), sub, { ...(values.from !== undefined ? { from: values.from } : {}), ...(values.to !== undefined ? { to: values.to } : {}) });
    case 'vulndb':
      return commandVulndb(load(), sub, rest);
    case 'user':
      if (sub === 'create' || sub === 'passwd') {
        return commandUser(load(), sub, rest, {
          admin: values.admin ?? false,
          passwordStdin: values['password-stdin'] ?? false,
        });
      }
      break;
  }
  process.stderr.write(USAGE);
  return 2;
}

async function serve(config: Config): Promise<number> {
  const server = await startServer(config);
  const log = server.berth.logger;
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing in-flight requests');
      const force = setTimeout(() => {
        log.warn('in-flight requests did not finish in time; exiting');
        process.exit(1);
      }, config.shutdownTimeoutSeconds * 1000);
      force.unref();
      server.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}

const SECRET_KEYS = new Set(['adminPassword', 'secretAccessKey', 'accessKeyId', 'url']);
function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_KEYS.has(k) && x !== undefined ? '[redacted]' : redact(x)]));
  }
  return v;
}


main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`berth: ${err.message}\n`);
    else process.stderr.write(`berth: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
