import { type SemVer, parseSemVer, semverScheme } from './semver.js';

// node-semver (the parser npm uses): surrounding blanks trimmed, one optional "v", at most 256
// characters, and each of major.minor.patch within Number.MAX_SAFE_INTEGER.
const MAX_LENGTH = 256;

export function parseNpmVersion(raw: string): SemVer | undefined {
  if (raw.length > MAX_LENGTH) return undefined;
  const s = raw.trim();
  const v = parseSemVer(s.startsWith('v') ? s.slice(1) : s);
  if (!v) return undefined;
  for (const n of [v.major, v.minor, v.patch]) if (Number(n) > Number.MAX_SAFE_INTEGER) return undefined;
  return v;
}

export const npm = semverScheme('npm', parseNpmVersion);
