import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const DIR = join(import.meta.dirname, '../fixtures/sbom-schemas');
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Record<string, unknown>;
// as src/config/load.ts calls it (ajv-formats is CommonJS)
const addFormats = addFormatsModule as unknown as (a: Ajv) => void;

/** The official schemas (draft-07 both), compiled once; `strict: false` lets CycloneDX's `meta:enum` annotations through. */
function compile(main: string, refs: string[]): ValidateFunction {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // ajv-formats has no IRI or IDN formats: loose stand-ins rather than ignoring them
  ajv.addFormat('iri-reference', /^\S*$/u);
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/u);
  const base = String(load(main)['$id'] ?? '');
  // the main schema names its neighbours relative to its own $id
  for (const r of refs) {
    const { $id: _id, ...schema } = load(r);
    ajv.addSchema(schema, new URL(r, base || 'file:///').href);
  }
  return ajv.compile(load(main));
}

let cdx: ValidateFunction | undefined;
let spdx: ValidateFunction | undefined;

export function validateCycloneDx(doc: unknown): string[] {
  cdx ??= compile('bom-1.6.SNAPSHOT.schema.json', ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']);
  return cdx(doc) ? [] : (cdx.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

export function validateSpdx(doc: unknown): string[] {
  spdx ??= compile('spdx-schema-2.3.json', []);
  return spdx(doc) ? [] : (spdx.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
