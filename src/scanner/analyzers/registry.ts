import type { AnalyzerFactory } from './analyzer.js';
import { apkAnalyzer } from './apk.analyzer.js';
import { cargoAnalyzer } from './cargo.analyzer.js';
import { dpkgAnalyzer } from './dpkg.analyzer.js';
import { gemAnalyzer } from './gem.analyzer.js';
import { goBinaryAnalyzer } from './go-binary.analyzer.js';
import { javaAnalyzer } from './java.analyzer.js';
import { npmAnalyzer } from './npm.analyzer.js';
import { osReleaseAnalyzer } from './os-release.analyzer.js';
import { pypiAnalyzer } from './pypi.analyzer.js';
import { rpmAnalyzer } from './rpm.analyzer.js';

/** Every analyzer, as a factory: each layer scan gets fresh ones. */
export const DEFAULT_ANALYZERS: readonly AnalyzerFactory[] = [
  osReleaseAnalyzer,
  dpkgAnalyzer,
  apkAnalyzer,
  rpmAnalyzer,
  npmAnalyzer,
  pypiAnalyzer,
  goBinaryAnalyzer,
  javaAnalyzer,
  cargoAnalyzer,
  gemAnalyzer,
];
