import { OS_PACKAGE_TYPES, type Distro, type ExtractedPackage } from '../domain/sbom.js';

/**
 * purl-spec "Character encoding": everything but the unreserved characters
 * (A-Z a-z 0-9 . - _ ~) and ':' is percent-encoded, in each component on its own.
 */
export function purlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%3A/gi, ':')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
}

/** Builds a canonical purl: namespace segments encoded one by one, qualifiers sorted by key. */
export function formatPurl(p: PurlParts): string {
  let out = `pkg:${p.type}/`;
  if (p.namespace) {
    out += p.namespace.split('/').filter(Boolean).map(purlEncode).join('/') + '/';
  }
  out += purlEncode(p.name);
  if (p.version) out += '@' + purlEncode(p.version);
  const q = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (q.length > 0) out += '?' + q.map(([k, v]) => `${k.toLowerCase()}=${purlEncode(v)}`).join('&');
  return out;
}

/** The `distro` qualifier: `debian-12`, `ubuntu-22.04`, `alpine-3.19.1` (ID-VERSION_ID). */
export function distroQualifier(d: Distro | undefined): string | undefined {
  if (!d) return undefined;
  return d.versionId ? `${d.id}-${d.versionId}` : d.codename ? `${d.id}-${d.codename}` : d.id;
}

/** PEP 503: runs of `-`, `_`, `.` become one `-`, lower case (purl-spec's pypi rule). */
export function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

type PurlInput = Pick<ExtractedPackage, 'type' | 'namespace' | 'name' | 'version' | 'arch' | 'epoch'>;

/** purl-spec PURL-TYPES for each package type the analyzers emit. */
export function packagePurl(p: PurlInput, distro: Distro | undefined): string {
  const version = p.version && p.version !== '(devel)' ? p.version : undefined;
  switch (p.type) {
    case 'deb':
      return formatPurl({ type: 'deb', namespace: distro?.id ?? 'debian', name: p.name, version, qualifiers: { arch: p.arch, distro: distroQualifier(distro) } });
    case 'apk':
      return formatPurl({ type: 'apk', namespace: distro?.id ?? 'alpine', name: p.name, version, qualifiers: { arch: p.arch, distro: distroQualifier(distro) } });
    case 'rpm':
      return formatPurl({
        type: 'rpm', namespace: distro?.id, name: p.name, version,
        qualifiers: { arch: p.arch, epoch: p.epoch ? String(p.epoch) : undefined, distro: distroQualifier(distro) },
      });
    case 'pypi':
      return formatPurl({ type: 'pypi', name: pep503(p.name), version });
    case 'golang': {
      // the module path's last element is the name, the rest the namespace
      const full = p.namespace ? `${p.namespace}/${p.name}` : p.name;
      const i = full.lastIndexOf('/');
      return formatPurl({ type: 'golang', namespace: i > 0 ? full.slice(0, i) : undefined, name: full.slice(i + 1), version });
    }
    default:
      return formatPurl({ type: p.type, namespace: p.namespace, name: p.name, version });
  }
}

/** Gives a package its purl; OS packages take the distribution of the layer (or image). */
export function withPurl(p: Omit<ExtractedPackage, 'purl' | 'layerDigest' | 'distro'> | ExtractedPackage, layerDigest: string, distro: Distro | undefined): ExtractedPackage {
  const os = OS_PACKAGE_TYPES.has(p.type);
  const d = os ? distro : undefined;
  const { purl: _old, distro: _oldDistro, ...rest } = p as ExtractedPackage;
  return { ...rest, layerDigest, purl: packagePurl(p, d), ...(d ? { distro: d } : {}) };
}
