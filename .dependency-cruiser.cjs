/**
 * The layering of STYLE.md, checked in CI: arrows point inward.
 *   http, cli, jobs -> services -> domain / ports <- storage, db, crypto, scanner, identity, directory, cache
 * Only src/compose.ts (and the server/CLI entry points above it) name concrete adapters.
 */
const ADAPTERS = '^src/(storage|db|crypto|scanner|identity|directory|cache)/';
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'domain/ imports nothing but node: built-ins and itself',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '^node:', '^(crypto|buffer|util)$'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'ports-are-interfaces',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { pathNot: ['^src/(ports|domain)/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'services-use-domain-and-ports-only',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: ['^src/(http|cli|jobs|config)/', ADAPTERS, '^src/compose\\.ts$', '^src/server\\.ts$'] },
    },
    {
      name: 'http-does-not-touch-adapters',
      comment: 'a route never touches db/ or storage/ directly',
      severity: 'error',
      from: { path: '^src/(http|jobs)/' },
      to: { path: [ADAPTERS, '^src/compose\\.ts$'] },
    },
    {
      name: 'adapters-implement-ports',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: ['^src/(services|http|cli|jobs)/', '^src/compose\\.ts$'] },
    },
    {
      name: 'only-compose-names-adapters',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/compose\\.ts$', ADAPTERS] },
      to: { path: ADAPTERS },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '\\.test\\.ts$' },
  },
};
