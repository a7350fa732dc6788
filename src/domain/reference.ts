import { type Digest, looksLikeDigest, parseDigest } from './digest.js';
import { manifestUnknown, RegistryError } from './errors.js';

// dist-spec: <reference> as a tag MUST be at most 128 characters and match this
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest };

export function isValidTag(s: string): boolean {
  return TAG.test(s);
}

/** A manifest reference is a digest when it contains `:`, a tag otherwise. */
export function parseReference(s: string): Reference {
  if (looksLikeDigest(s)) return { kind: 'digest', digest: parseDigest(s) };
  if (!TAG.test(s)) {
    throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: s.slice(0, 200) });
  }
  return { kind: 'tag', tag: s };
}

/**
 * A reference to look up (GET, HEAD, DELETE). A string that is not a valid tag cannot name a
 * manifest, so it is unknown rather than invalid: dist-spec "If the manifest is not found in the
 * registry, the response code MUST be 404 Not Found" (the conformance suite pulls
 * `.INVALID_MANIFEST_NAME` and expects 404). A malformed digest stays DIGEST_INVALID.
 */
export function parseLookupReference(s: string): Reference {
  if (looksLikeDigest(s)) return { kind: 'digest', digest: parseDigest(s) };
  if (!TAG.test(s)) throw manifestUnknown(s.slice(0, 200));
  return { kind: 'tag', tag: s };
}

export function referenceString(r: Reference): string {
  return r.kind === 'tag' ? r.tag : r.digest.value;
}
