import type { Analyzer } from './analyzer.js';

// RubyGems installs `<gem dir>/specifications/<name>-<version>.gemspec` (and default gems under
// specifications/default/)
const SPEC = /(?:^|\/)specifications\/(?:default\/)?[^/]+\.gemspec$/;

export function gemAnalyzer(): Analyzer {
  return {
    name: 'gem',
    wants: (e) => (SPEC.test(e.path) ? 'buffer' : false),
    maxBytes: () => 1024 * 1024,
    analyze(path, data, ctx) {
      // the installed spec is Ruby written by `Gem::Specification#to_ruby`:
      //   s.name = "rake".freeze / s.version = "13.0.6"
      const text = data.toString('utf8');
      const name = /\.name\s*=\s*["']([^"'\n]+)["']/.exec(text)?.[1];
      const version = /\.version\s*=\s*["']([^"'\n]+)["']/.exec(text)?.[1];
      if (name && version && /^[A-Za-z0-9._-]+$/.test(name)) ctx.addPackage({ type: 'gem', name, version, path });
      else ctx.warn({ code: 'malformed', message: 'gem: gemspec without a name and version', path });
    },
  };
}
