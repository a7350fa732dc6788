import { type SemVer, semverOfMatch, semverScheme } from './semver.js';

// golang.org/x/mod/semver: "v" + SemVer 2.0.0, with "vMAJOR" and "vMAJOR.MINOR" accepted as
// shorthands for vMAJOR.0.0 and vMAJOR.MINOR.0. Build metadata such as "+incompatible" does not
// take part in the order; pseudo-versions (v0.0.0-20191109021931-daa7c04131f5,
// v1.2.4-0.20191109021931-daa7c04131f5) are ordinary pre-releases and sort where the go command
// puts them.
const NUM = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const GO_RE = new RegExp(
  `^v(${NUM})(?:\\.(${NUM})(?:\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?)?)?$`,
);

/** Parses a Go module version; the OSV Go ecosystem writes them without the "v", so it is optional. */
export function parseGoVersion(raw: string): SemVer | undefined {
  const m = GO_RE.exec(raw.startsWith('v') ? raw : `v${raw}`);
  return m ? semverOfMatch(m) : undefined;
}

export const go = semverScheme('go', parseGoVersion);
