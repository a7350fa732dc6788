import { dirName } from './layer-paths.js';
import { withPurl } from './purl.js';
import { OS_PACKAGE_TYPES, type Distro, type ExtractedPackage, type ImageInventory, type LayerInventory } from '../domain/sbom.js';

/**
 * An image's inventory from its layers' inventories, lowest layer first, as overlay filesystems
 * stack them (image-spec layer.md "Applying Changesets"):
 * - a layer's whiteouts and opaque directories hide what the layers below hold there;
 * - a layer's own copy of a package file (a rewritten dpkg status, a replaced package.json)
 *   hides the lower copy;
 * - a language package whose file belongs to an OS package (dpkg `.list`, apk `R:`, rpm file
 *   list) is dropped: the OS package already reports it, with the distribution's version.
 */
export function mergeLayers(layers: readonly LayerInventory[]): ImageInventory {
  const byPath = new Map<string, ExtractedPackage[]>();
  const owned = new Map<string, string[]>();
  let distro: { d: Distro; path: string } | undefined;
  const warnings: ImageInventory['warnings'] = [];

  for (const layer of layers) {
    const removed = new Set(layer.whiteouts);
    const opaque = new Set(layer.opaqueDirs);
    const replaced = new Set(layer.analyzedPaths);
    const hidden = (p: string): boolean => replaced.has(p) || hiddenBy(p, removed, opaque);
    if (removed.size > 0 || opaque.size > 0 || replaced.size > 0) {
      for (const k of [...byPath.keys()]) if (hidden(k)) byPath.delete(k);
      for (const k of [...owned.keys()]) if (hidden(k)) owned.delete(k);
      if (distro && hidden(distro.path)) distro = undefined;
    }
    for (const p of layer.packages) {
      const list = byPath.get(p.path);
      if (list) list.push(p);
      else byPath.set(p.path, [p]);
    }
    for (const o of layer.owned) owned.set(o.source, o.paths);
    if (layer.distro && layer.distroPath) distro = { d: layer.distro, path: layer.distroPath };
    for (const w of layer.warnings) warnings.push({ ...w, layerDigest: layer.layerDigest });
  }

  const ownedPaths = new Set<string>();
  for (const paths of owned.values()) for (const p of paths) ownedPaths.add(p);
  const all = [...byPath.values()].flat();
  const installedNpm = new Set(all.filter((p) => p.type === 'npm' && isInstalledManifest(p.path)).map((p) => `${npmRoot(p.path)}\0${p.namespace ?? ''}/${p.name}@${p.version}`));
  const packages: ExtractedPackage[] = [];
  for (const p of all) {
    const os = OS_PACKAGE_TYPES.has(p.type);
    if (!os && ownedPaths.has(p.path)) continue;
    // a lock file next to its node_modules lists what node_modules already showed
    if (p.type === 'npm' && !isInstalledManifest(p.path) && installedNpm.has(`${dirName(p.path)}\0${p.namespace ?? ''}/${p.name}@${p.version}`)) continue;
    packages.push(os ? withPurl(p, p.layerDigest, distro?.d) : p);
  }
  return { ...(distro ? { distro: distro.d } : {}), packages, warnings };
}

/** True when a whiteout removes `p` or one of its parents, or an opaque directory is above it. */
function hiddenBy(p: string, removed: ReadonlySet<string>, opaque: ReadonlySet<string>): boolean {
  if (removed.has(p)) return true;
  let d = p;
  while (d !== '') {
    d = dirName(d);
    if (opaque.has(d)) return true;
    if (d !== '' && removed.has(d)) return true;
  }
  return false;
}

function isInstalledManifest(path: string): boolean {
  return path.includes('node_modules/') && path.endsWith('/package.json');
}

/** The project folder a node_modules tree belongs to: `app` for app/node_modules/a/package.json. */
function npmRoot(path: string): string {
  const i = path.indexOf('node_modules/');
  return i <= 0 ? '' : path.slice(0, i - 1);
}
