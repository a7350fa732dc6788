import type { Distro, ExtractedPackage } from '../domain/sbom.js';
import { baseEcosystem } from '../domain/versions/index.js';

/**
 * Which OSV ecosystem and package name an installed package is looked up by (ossf/osv-schema
 * ecosystems.json), and the name key both sides of the lookup use.
 */
export interface PackageLookup {
  /** Ecosystem strings as OSV records spell them; the first is the one reported. */
  ecosystems: string[];
  name: string;
  /** The version compared with the advisory's ranges. */
  version: string;
}

/** PEP 503: runs of `-`, `_` and `.` are one `-`, case does not matter. */
export function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The key an affected package name is stored and looked up by. */
export function lookupName(ecosystem: string, name: string): string {
  return baseEcosystem(ecosystem) === 'PyPI' ? pep503(name) : name;
}

// os-release without VERSION_ID (testing, sid images built from a release's suite)
const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

function major(v: string | undefined): string | undefined {
  const m = v === undefined ? null : /^(\d+)/.exec(v);
  return m?.[1];
}

function distroEcosystems(type: ExtractedPackage['type'], d: Distro | undefined): string[] {
  if (!d) return [];
  const id = d.id.toLowerCase();
  if (type === 'deb') {
    if (id === 'debian') {
      const rel = major(d.versionId) ?? (d.codename ? DEBIAN_CODENAMES[d.codename] : undefined);
      return rel ? [`Debian:${rel}`] : [];
    }
    if (id === 'ubuntu' && d.versionId) return [`Ubuntu:${d.versionId}:LTS`, `Ubuntu:${d.versionId}`];
    return [];
  }
  if (type === 'apk') {
    if (id === 'alpine') {
      const m = /^(\d+)\.(\d+)/.exec(d.versionId ?? '');
      return m ? [`Alpine:v${m[1]}.${m[2]}`] : [];
    }
    if (id === 'wolfi') return ['Wolfi'];
    if (id === 'chainguard') return ['Chainguard'];
    return [];
  }
  if (type === 'rpm') {
    const rel = major(d.versionId);
    if (!rel) return [];
    if (id === 'rocky') return [`Rocky Linux:${rel}`];
    if (id === 'almalinux') return [`AlmaLinux:${rel}`];
    if (id === 'mageia') return [`Mageia:${d.versionId}`];
    if (id === 'openeuler') return [`openEuler:${d.versionId}`];
    return [];
  }
  return [];
}

/**
 * The lookup of one package, or undefined when Berth has no OSV ecosystem for it. Debian,
 * Ubuntu and Alpine advisories name source packages and source versions, so OS packages are
 * looked up by their source (a binNMU's `+bN` binary version is the source version's rebuild).
 */
export function packageLookup(p: ExtractedPackage, imageDistro: Distro | undefined): PackageLookup | undefined {
  const withNs = (sep: string): string => (p.namespace ? `${p.namespace}${sep}${p.name}` : p.name);
  switch (p.type) {
    case 'deb':
    case 'apk': {
      const ecosystems = distroEcosystems(p.type, p.distro ?? imageDistro);
      if (!ecosystems.length) return undefined;
      return { ecosystems, name: p.source?.name ?? p.name, version: p.source?.version ?? p.version };
    }
    case 'rpm': {
      const ecosystems = distroEcosystems(p.type, p.distro ?? imageDistro);
      if (!ecosystems.length) return undefined;
      return { ecosystems, name: p.name, version: p.epoch ? `${p.epoch}:${p.version}` : p.version };
    }
    case 'npm':
      return { ecosystems: ['npm'], name: withNs('/'), version: p.version };
    case 'pypi':
      return { ecosystems: ['PyPI'], name: pep503(p.name), version: p.version };
    case 'golang':
      // OSV's Go ranges are SEMVER: versions without the module system's "v"
      return { ecosystems: ['Go'], name: withNs('/'), version: p.version.replace(/^v/, '') };
    case 'cargo':
      return { ecosystems: ['crates.io'], name: p.name, version: p.version };
    case 'maven':
      return { ecosystems: ['Maven'], name: withNs(':'), version: p.version };
    case 'gem':
      return { ecosystems: ['RubyGems'], name: p.name, version: p.version };
  }
  return undefined;
}
