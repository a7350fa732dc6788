import { describe, expect, it } from 'vitest';
import { packagePurl, pep503, purlEncode } from './purl.js';

describe('purls', () => {
  // examples of purl-spec's PURL-TYPES document, built from their parts
  it.each([
    [{ type: 'maven', namespace: 'org.apache.commons', name: 'io', version: '1.3.4' }, undefined, 'pkg:maven/org.apache.commons/io@1.3.4'],
    [{ type: 'npm', namespace: '@angular', name: 'animation', version: '12.3.1' }, undefined, 'pkg:npm/%40angular/animation@12.3.1'],
    [{ type: 'npm', name: 'foobar', version: '12.3.1' }, undefined, 'pkg:npm/foobar@12.3.1'],
    [{ type: 'pypi', name: 'Django_Allauth', version: '12.23' }, undefined, 'pkg:pypi/django-allauth@12.23'],
    [{ type: 'golang', name: 'github.com/gorilla/context', version: '234fd47e07d1004f0aed9c' }, undefined, 'pkg:golang/github.com/gorilla/context@234fd47e07d1004f0aed9c'],
    [{ type: 'gem', name: 'ruby-advisory-db-check', version: '0.12.4' }, undefined, 'pkg:gem/ruby-advisory-db-check@0.12.4'],
    [{ type: 'cargo', name: 'rand', version: '0.7.2' }, undefined, 'pkg:cargo/rand@0.7.2'],
    [{ type: 'deb', name: 'curl', version: '7.50.3-1', arch: 'i386' }, { id: 'debian', codename: 'jessie' }, 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=debian-jessie'],
    [{ type: 'rpm', name: 'curl', version: '7.50.3-1.fc25', arch: 'i386' }, { id: 'fedora', versionId: '25' }, 'pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25'],
    [{ type: 'apk', name: 'curl', version: '7.83.0-r0', arch: 'x86' }, undefined, 'pkg:apk/alpine/curl@7.83.0-r0?arch=x86'],
    [{ type: 'deb', name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64' }, { id: 'debian', versionId: '12' }, 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12'],
    [{ type: 'deb', name: 'adduser', version: '1:3.134', arch: 'all' }, { id: 'ubuntu', versionId: '22.04' }, 'pkg:deb/ubuntu/adduser@1:3.134?arch=all&distro=ubuntu-22.04'],
    [{ type: 'rpm', name: 'openssl', version: '3.0.7-27.el9', arch: 'x86_64', epoch: 1 }, { id: 'rhel', versionId: '9.4' }, 'pkg:rpm/rhel/openssl@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1'],
  ] as const)('%j', (pkg, distro, want) => {
    expect(packagePurl(pkg, distro)).toBe(want);
  });

  it('leaves the main module of a Go binary built outside version control without a version', () => {
    expect(packagePurl({ type: 'golang', name: 'example.com/app', version: '(devel)' }, undefined)).toBe('pkg:golang/example.com/app');
  });

  it('percent-encodes all but the unreserved characters and the colon', () => {
    expect(purlEncode('a b/c@d+e~f:g?h#i')).toBe('a%20b%2Fc%40d%2Be~f:g%3Fh%23i');
  });

  it('normalises PyPI names as PEP 503 does', () => {
    expect(['Friendly-Bard', 'FRIENDLY-BARD', 'friendly.bard', 'friendly_bard', 'friendly--bard', 'FrIeNdLy-._.-bArD'].map(pep503)).toEqual(
      Array(6).fill('friendly-bard'),
    );
  });
});
