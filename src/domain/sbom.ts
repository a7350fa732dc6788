/** The records the layer analyzers produce: one layer's inventory, then an image's. */

/** purl-spec package types the analyzers emit. */
export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang' | 'maven' | 'cargo' | 'gem';

export const OS_PACKAGE_TYPES: ReadonlySet<PackageType> = new Set(['deb', 'apk', 'rpm']);

/** From os-release(5): ID, VERSION_ID, VERSION_CODENAME. */
export interface Distro {
  id: string;
  versionId?: string;
  codename?: string;
  prettyName?: string;
}

export interface ExtractedPackage {
  type: PackageType;
  /** Maven groupId, npm scope (with its `@`), Go module path prefix: purl-spec's namespace. */
  namespace?: string;
  name: string;
  version: string;
  purl: string;
  /** Digest of the layer (the compressed blob, as the manifest names it) the package was found in. */
  layerDigest: string;
  /** The file in that layer which records the package, relative to the root, no leading `/`. */
  path: string;
  /** For a package inside an archive (a jar in a war), the entries leading to it inside `path`. */
  innerPath?: string[];
  arch?: string;
  /** The source package: dpkg `Source:`, apk `o:`, rpm SOURCERPM. */
  source?: { name: string; version?: string };
  /** rpm's EPOCH tag, kept apart because purl-spec puts it in a qualifier. */
  epoch?: number;
  /** OS packages: the distribution the package database belongs to. */
  distro?: Distro;
  /** Go binaries: the toolchain that built them (`go1.22.3`). */
  goVersion?: string;
  /** Go: `main` for the binary's own module, `dep` for a dependency. */
  role?: 'main' | 'dep';
}

export type WarningCode =
  | 'decompression-limit'
  | 'decompression-ratio'
  | 'corrupt-stream'
  | 'truncated'
  | 'entry-limit'
  | 'unsafe-path'
  | 'file-too-large'
  | 'malformed'
  | 'nesting-limit'
  | 'unsupported'
  | 'limit';

/** Why a result is incomplete. A scan degrades with warnings; it never throws on hostile input. */
export interface ScanWarning {
  code: WarningCode;
  message: string;
  path?: string;
  /** Set on the warnings of an image inventory: the layer they come from. */
  layerDigest?: string;
}

/** Paths a package manager says it installed, keyed by the database file that says so. */
export interface OwnedFiles {
  /** e.g. `var/lib/dpkg/info/python3-requests.list`, `lib/apk/db/installed`. */
  source: string;
  paths: string[];
}

/** The inventory of one layer on its own: what it adds, and what it removes from the layers below. */
export interface LayerInventory {
  layerDigest: string;
  /** `gzip`, `zstd` or `none`, found from the magic bytes. */
  compression: 'gzip' | 'zstd' | 'none';
  packages: ExtractedPackage[];
  /** os-release of this layer, when it has one. */
  distro?: Distro;
  /** Path of the os-release file that gave `distro` (so an upper layer's deletion can remove it). */
  distroPath?: string;
  owned: OwnedFiles[];
  /**
   * Every path an analyzer looked at, with or without a result: in a merge, this layer's copy of
   * such a path hides the lower layers' copy (a rewritten dpkg status replaces the old one).
   */
  analyzedPaths: string[];
  /** image-spec layer.md: `.wh.<name>` deletes `<dir>/<name>` from the layers below. */
  whiteouts: string[];
  /** image-spec layer.md: `.wh..wh..opq` hides every lower entry of its directory. */
  opaqueDirs: string[];
  entries: number;
  /** Bytes after decompression that were read. */
  bytesRead: number;
  /** True when the whole layer was read to the end-of-archive marker or the end of the stream. */
  complete: boolean;
  warnings: ScanWarning[];
}

/** An image's inventory: its layers merged in order. */
export interface ImageInventory {
  distro?: Distro;
  packages: ExtractedPackage[];
  warnings: ScanWarning[];
}
