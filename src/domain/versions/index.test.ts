import { describe, expect, it } from 'vitest';
import { apk } from './apk.js';
import { dpkg } from './dpkg.js';
import { baseEcosystem, schemeFor, schemeForRange, semver } from './index.js';
import { maven } from './maven.js';
import { rpm } from './rpm.js';

describe('ecosystem → version scheme', () => {
  it('reads the ecosystem before the first colon of an OSV ecosystem string', () => {
    expect(baseEcosystem('Debian:12')).toBe('Debian');
    expect(baseEcosystem('Red Hat:rhel_aus:8.4::appstream')).toBe('Red Hat');
    expect(baseEcosystem('Maven:https://maven.google.com')).toBe('Maven');
    expect(schemeFor('Debian:12')).toBe(dpkg);
    expect(schemeFor('Ubuntu:Pro:18.04:LTS')).toBe(dpkg);
    expect(schemeFor('Alpine:v3.20')).toBe(apk);
    expect(schemeFor('Rocky Linux:9')).toBe(rpm);
    expect(schemeFor('Maven:https://maven.google.com')).toBe(maven);
  });

  it('has no scheme for ecosystems it cannot order, nor for GIT ranges', () => {
    expect(schemeFor('Hackage')).toBeUndefined();
    expect(schemeFor('toString')).toBeUndefined();
    expect(schemeForRange('GIT', 'PyPI')).toBeUndefined();
    expect(schemeForRange('SEMVER', 'Debian:12')).toBe(semver);
  });
});
