import { type SemVer, parseSemVer, semverScheme } from './semver.js';

const U64_MAX = 18446744073709551615n;

/**
 * Cargo versions as the `semver` crate parses them: strict SemVer 2.0.0, no "v", no blanks,
 * numbers (also numeric pre-release identifiers) within u64. Ordering is SemVer precedence: the
 * crate's `Ord` also breaks ties on build metadata, which OSV's SEMVER ranges ignore.
 */
export function parseCargoVersion(s: string): SemVer | undefined {
  const v = parseSemVer(s);
  if (!v) return undefined;
  const numbers = [v.major, v.minor, v.patch, ...v.prerelease.filter((id) => /^[0-9]+$/.test(id))];
  return numbers.every((n) => BigInt(n) <= U64_MAX) ? v : undefined;
}

export const cargo = semverScheme('cargo', parseCargoVersion);
