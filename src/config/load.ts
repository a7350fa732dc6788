import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type TSchema, Kind } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { type Config, ConfigSchema } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** explicit file (--config); otherwise ./berth.yaml when it exists */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);
const validate = ajv.compile<Config>(ConfigSchema);

/** Env variables that are not configuration keys but are Berth's. */
const NON_KEYS = new Set(['BERTH_CONFIG']);

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const problems: string[] = [];
  const file = opts.file ?? env['BERTH_CONFIG'] ?? defaultFile(cwd);
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      const doc = parseYaml(readFileSync(resolve(cwd, file), 'utf8')) as unknown;
      if (doc !== null && doc !== undefined) {
        if (typeof doc !== 'object' || Array.isArray(doc)) problems.push(`${file}: the top level must be a mapping`);
        else fromFile = doc as Record<string, unknown>;
      }
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const merged = structuredClone(fromFile);
  const leaves = envLeaves(ConfigSchema);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || NON_KEYS.has(name) || value === undefined) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      problems.push(`environment variable ${name} is not a configuration key`);
      continue;
    }
    const coerced = coerce(value, leaf.schema);
    if (coerced === undefined) {
      problems.push(`environment variable ${name}: ${JSON.stringify(value)} is not a valid ${leaf.schema['type'] as string}`);
      continue;
    }
    setPath(merged, leaf.path, coerced);
  }
  if (!validate(merged)) problems.push(...(validate.errors ?? []).map(describe));
  if (problems.length) throw new ConfigError(problems);
  return merged as Config;
}

export function configJsonSchema(): unknown {
  return JSON.parse(JSON.stringify(ConfigSchema)) as unknown;
}

function defaultFile(cwd: string): string | undefined {
  try {
    readFileSync(resolve(cwd, 'berth.yaml'));
    return 'berth.yaml';
  } catch {
    return undefined;
  }
}

function describe(e: ErrorObject): string {
  const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
  if (e.keyword === 'additionalProperties') {
    return `${where === '(top level)' ? '' : `${where}.`}${String(e.params['additionalProperty'])}: unknown key`;
  }
  if (e.keyword === 'anyOf' || e.keyword === 'union') return `${where}: must be one of the allowed values`;
  return `${where}: ${e.message ?? 'is invalid'}`;
}

interface Leaf {
  path: string[];
  schema: TSchema;
}

/** BERTH_<PATH> for every leaf of the schema. */
function envLeaves(schema: TSchema, path: string[] = [], out = new Map<string, Leaf>()): Map<string, Leaf> {
  if (schema[Kind] === 'Object' && schema['properties']) {
    for (const [k, s] of Object.entries(schema['properties'] as Record<string, TSchema>)) envLeaves(s, [...path, k], out);
    return out;
  }
  const name = `BERTH_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
  out.set(name, { path, schema });
  return out;
}

function coerce(value: string, schema: TSchema): unknown {
  const kind = schema[Kind];
  if (kind === 'Integer' || kind === 'Number') {
    const n = Number(value);
    return value.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }
  if (kind === 'Boolean') {
    if (/^(true|1|yes|on)$/i.test(value)) return true;
    if (/^(false|0|no|off)$/i.test(value)) return false;
    return undefined;
  }
  return value;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}
