import { describe, expect, it } from 'vitest';
import { canonicalRepositoryUrl } from './repository-path.js';

const P = '/api/v2.0/projects/lib/repositories';

describe('canonicalRepositoryUrl', () => {
  it('leaves encoded names and other paths alone', () => {
    for (const u of [`${P}/a%2Fb/artifacts`, `${P}/a%252Fb`, `${P}/app/artifacts/v1/tags`, `${P}`, '/v2/lib/a/b/manifests/x', '/api/v2.0/projects/lib']) {
      expect(canonicalRepositoryUrl(u)).toBe(u);
    }
  });

  it('encodes a plain multi-segment name before the artifacts sub-paths', () => {
    expect(canonicalRepositoryUrl(`${P}/a/b`)).toBe(`${P}/a%2Fb`);
    expect(canonicalRepositoryUrl(`${P}/a/b/c?x=1`)).toBe(`${P}/a%2Fb%2Fc?x=1`);
    expect(canonicalRepositoryUrl(`${P}/a/b/artifacts?page=2`)).toBe(`${P}/a%2Fb/artifacts?page=2`);
    expect(canonicalRepositoryUrl(`${P}/a/b/artifacts/v1`)).toBe(`${P}/a%2Fb/artifacts/v1`);
    expect(canonicalRepositoryUrl(`${P}/a/b/artifacts/sha256:abc/tags/t1`)).toBe(`${P}/a%2Fb/artifacts/sha256:abc/tags/t1`);
    expect(canonicalRepositoryUrl(`${P}/a/b/artifacts/v1/labels/3`)).toBe(`${P}/a%2Fb/artifacts/v1/labels/3`);
    expect(canonicalRepositoryUrl(`${P}/a/b/artifacts/v1/scan/r1/log`)).toBe(`${P}/a%2Fb/artifacts/v1/scan/r1/log`);
  });

  it('reads the name from the right, so a name component called artifacts is kept when unambiguous', () => {
    expect(canonicalRepositoryUrl(`${P}/x/artifacts/y/artifacts`)).toBe(`${P}/x%2Fartifacts%2Fy/artifacts`);
  });
});
