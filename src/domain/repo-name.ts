import { nameInvalid } from './errors.js';

// dist-spec: <name> MUST match [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
/** Docker clients limit the whole name to 255 characters (host included); so do we. */
export const MAX_NAME_LENGTH = 255;

export interface RepoName {
  /** the full repository name, e.g. `library/debian` */
  readonly value: string;
  /** the first path component: Berth's project */
  readonly project: string;
}

/**
 * Validates a repository name. Every component must match the spec's grammar, which by itself
 * excludes `.`/`..`, empty components and percent-encoded bytes; the name must also have at
 * least two components because the first one is the project.
 */
export function parseRepoName(value: string): RepoName {
  if (value.length === 0) throw nameInvalid('empty name');
  if (value.length > MAX_NAME_LENGTH) throw nameInvalid(`longer than ${MAX_NAME_LENGTH} characters`, value.slice(0, 300));
  const parts = value.split('/');
  for (const p of parts) {
    if (!COMPONENT.test(p)) throw nameInvalid(`component ${JSON.stringify(p.slice(0, 100))} does not match the OCI name grammar`, value);
  }
  if (parts.length < 2) {
    throw nameInvalid('a repository name must start with its project, as in <project>/<name>', value);
  }
  return { value, project: parts[0]! };
}

/** Project names follow Harbor: lowercase, digits, `._-`, 1..255, starting with a letter or digit. */
const PROJECT = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export function isValidProjectName(name: string): boolean {
  return name.length >= 1 && name.length <= 255 && PROJECT.test(name) && COMPONENT.test(name);
}
