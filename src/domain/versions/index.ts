import { apk } from './apk.js';
import { cargo } from './cargo.js';
import { dpkg } from './dpkg.js';
import { go } from './go.js';
import { maven } from './maven.js';
import { npm } from './npm.js';
import { pep440 } from './pep440.js';
import { rpm } from './rpm.js';
import { rubygems } from './rubygems.js';
import type { VersionScheme } from './scheme.js';
import { semver } from './semver.js';

export type { VersionScheme } from './scheme.js';
export { semver } from './semver.js';

/**
 * OSV ecosystem names (ossf/osv-schema ecosystems.json) whose ECOSYSTEM ranges Berth can order,
 * each with the version scheme of its package manager. The distributions listed per scheme are
 * those whose OSV data says they use it (Alpine-style apk, RPM, dpkg).
 */
export const SCHEMES = {
  Debian: dpkg,
  Ubuntu: dpkg,
  Alpine: apk,
  Wolfi: apk,
  Chainguard: apk,
  'Red Hat': rpm,
  'Rocky Linux': rpm,
  AlmaLinux: rpm,
  openSUSE: rpm,
  SUSE: rpm,
  Mageia: rpm,
  'Photon OS': rpm,
  'Azure Linux': rpm,
  openEuler: rpm,
  npm,
  PyPI: pep440,
  Go: go,
  Maven: maven,
  'crates.io': cargo,
  RubyGems: rubygems,
} as const satisfies Record<string, VersionScheme>;

export type Ecosystem = keyof typeof SCHEMES;

/** The ecosystem of an OSV ecosystem string: "Debian:12" → "Debian", "Red Hat:rhel_aus:8.4::appstream" → "Red Hat". */
export function baseEcosystem(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i === -1 ? ecosystem : ecosystem.slice(0, i);
}

export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const base = baseEcosystem(ecosystem);
  return Object.hasOwn(SCHEMES, base) ? SCHEMES[base as Ecosystem] : undefined;
}

/** The scheme an OSV range of this type is ordered by, or undefined (GIT, or an unknown ecosystem). */
export function schemeForRange(type: string, ecosystem: string): VersionScheme | undefined {
  if (type === 'SEMVER') return semver;
  if (type === 'ECOSYSTEM') return schemeFor(ecosystem);
  return undefined;
}
