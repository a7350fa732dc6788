import { describe, expect, it } from 'vitest';
import { indexedVersion, parseConstraint, parsePurl, satisfies, schemeForPurlType } from './package-query.js';

describe('parsePurl', () => {
  it('splits purl-spec examples into decoded components', () => {
    expect(parsePurl('pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie')).toEqual({
      type: 'deb', namespace: 'debian', name: 'curl', version: '7.50.3-1', qualifiers: { arch: 'i386', distro: 'jessie' },
    });
    expect(parsePurl('pkg:npm/%40angular/animation@12.3.1')).toMatchObject({ namespace: '@angular', name: 'animation', version: '12.3.1' });
    expect(parsePurl('pkg:npm/@angular/animation')).toMatchObject({ namespace: '@angular', name: 'animation' });
    expect(parsePurl('pkg:golang/google.golang.org/genproto#googleapis/api/annotations')).toMatchObject({
      namespace: 'google.golang.org', name: 'genproto', subpath: 'googleapis/api/annotations',
    });
    expect(parsePurl('pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?packaging=sources')).toMatchObject({ namespace: 'org.apache.xmlgraphics', name: 'batik-anim' });
    expect(parsePurl('pkg:deb/debian/libc6@2.36-9%2Bdeb12u4').version).toBe('2.36-9+deb12u4');
  });

  it('normalises names where the type says so (PEP 503 for PyPI, lower case for deb and npm)', () => {
    expect(parsePurl('pkg:PyPI/Django_Rest.Framework').name).toBe('django-rest-framework');
    expect(parsePurl('pkg:deb/Debian/OpenSSL')).toMatchObject({ namespace: 'debian', name: 'openssl' });
    expect(parsePurl('pkg:maven/org.Example/Lib').name).toBe('Lib');
  });

  it('refuses what is not a purl', () => {
    for (const bad of ['openssl', 'pkg:', 'pkg:deb', 'pkg:1deb/x', 'pkg:deb/debian/%zz', 'pkg:deb/debian/x?=v', `pkg:deb/${'a'.repeat(3000)}`]) {
      expect(() => parsePurl(bad), bad).toThrow();
    }
  });
});

describe('version constraints in the ecosystem order', () => {
  const dpkg = schemeForPurlType('deb');

  it('reads bounds joined by commas; a bare version is =', () => {
    expect(parseConstraint('>=1.0~rc1, <1.0', dpkg)).toEqual([{ op: '>=', version: '1.0~rc1' }, { op: '<', version: '1.0' }]);
    expect(parseConstraint('2.0', dpkg)).toEqual([{ op: '=', version: '2.0' }]);
    expect(parseConstraint('==2.0', dpkg)).toEqual([{ op: '=', version: '2.0' }]);
    expect(() => parseConstraint('<', dpkg)).toThrow();
    expect(() => parseConstraint('', dpkg)).toThrow();
    expect(() => parseConstraint('<a b', dpkg)).toThrow();
  });

  it('compares in dpkg order: ~ sorts first, epochs win', () => {
    const b = parseConstraint('<1.0', dpkg);
    expect(satisfies('1.0~rc1', b, dpkg)).toBe(true);
    expect(satisfies('1.0', b, dpkg)).toBe(false);
    expect(satisfies('1:0.1', b, dpkg)).toBe(false);
    expect(satisfies('0.9+really1.1', b, dpkg)).toBe(true);
  });

  it('compares PyPI in PEP 440 order and npm in semver order', () => {
    const pep = schemeForPurlType('pypi');
    expect(satisfies('2.0rc1', parseConstraint('<2.0', pep), pep)).toBe(true);
    expect(satisfies('2.0.post1', parseConstraint('>2.0', pep), pep)).toBe(true);
    const npm = schemeForPurlType('npm');
    expect(satisfies('1.10.0', parseConstraint('>1.9.0', npm), npm)).toBe(true);
    expect(satisfies('1.0.0-beta', parseConstraint('<1.0.0', npm), npm)).toBe(true);
  });

  it('a version the scheme cannot order is outside every range; without a scheme only = and != hold', () => {
    const npm = schemeForPurlType('npm');
    expect(satisfies('not-a-version', [{ op: '<', version: '2.0.0' }], npm)).toBe(false);
    expect(satisfies('abc', [{ op: '=', version: 'abc' }], undefined)).toBe(true);
    expect(satisfies('abc', [{ op: '<', version: 'abd' }], undefined)).toBe(false);
  });

  it('indexes rpm versions with their epoch in front', () => {
    expect(indexedVersion({ type: 'rpm', version: '2.3-4', epoch: 1 })).toBe('1:2.3-4');
    expect(indexedVersion({ type: 'deb', version: '1:2.3-4' })).toBe('1:2.3-4');
  });
});
