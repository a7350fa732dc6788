import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** The digest algorithms Berth accepts (image-spec "Registered algorithms"). */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex`, the canonical string form. */
  readonly value: string;
}

// image-spec descriptor.md: digest := algorithm ":" encoded
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isDigestAlgorithm(a: string): a is DigestAlgorithm {
  return Object.hasOwn(DIGEST_ALGORITHMS, a);
}

/** Parses a digest string; throws DIGEST_INVALID for anything the registry cannot verify. */
export function parseDigest(s: string): Digest {
  const d = tryParseDigest(s);
  if (!d) {
    throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: s.slice(0, 200) });
  }
  return d;
}

export function tryParseDigest(s: string): Digest | undefined {
  if (s.length > 200 || !GRAMMAR.test(s)) return undefined;
  const i = s.indexOf(':');
  const algorithm = s.slice(0, i);
  const hex = s.slice(i + 1);
  if (!isDigestAlgorithm(algorithm)) return undefined;
  // image-spec: sha256/sha512 encoded portion MUST be lowercase hex of the exact length
  if (hex.length !== DIGEST_ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { algorithm, hex, value: s };
}

export function looksLikeDigest(s: string): boolean {
  return s.includes(':');
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const hex = createHash(algorithm).update(bytes).digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

export function digestFromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
  const hex = hash.digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}
