#!/usr/bin/env python3
"""Prints version strings for one ecosystem, one a line: real ones from ../shared/vulndata and
hand-picked edge cases. Usage: corpus.py ECOSYSTEM VULNDATA_DIR"""
import json, os, re, sys, zipfile

eco, vulndata = sys.argv[1], sys.argv[2]
out = []

def osv_versions(name, with_list=True):
    z = zipfile.ZipFile(os.path.join(vulndata, 'osv', name, 'all.zip'))
    for n in sorted(z.namelist()):
        try:
            r = json.loads(z.read(n))
        except ValueError:
            continue
        for a in r.get('affected', []):
            if with_list:
                out.extend(a.get('versions') or [])
            for rg in a.get('ranges', []):
                if rg.get('type') == 'GIT':
                    continue
                for e in rg.get('events', []):
                    out.extend(v for k, v in e.items() if k != 'introduced' or v != '0')

def npm_index_versions():
    for f in ('core-index.json', 'npm-legacy-index.json'):
        d = json.load(open(os.path.join(vulndata, 'nodejs', f)))
        for v in d.values():
            for k in ('vulnerable', 'patched', 'vulnerable_versions', 'patched_versions'):
                out.extend(re.findall(r'v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?', str(v.get(k) or '')))

def debian_versions():
    for line in open(os.path.join(vulndata, 'debian', 'dpkg-compare-golden.tsv')):
        a, _, b = line.rstrip('\n').split('\t')
        out.extend([a, b])
    for r in json.load(open(os.path.join(vulndata, 'debian', 'debian12-changelog-fixture-osv.json'))):
        for a in r['affected']:
            for rg in a['ranges']:
                out.extend(v for e in rg['events'] for v in e.values() if v != '0')

EDGE = {
    'dpkg': ['1.0', '1.0-0', '1.0-1', '0:1.0-1', '1:1.0-1', '1.0~rc1-1', '1.0~~-1', '1.0~-1', '1.0+b1', '1.0.1', '1.0a',
             '1.0-1~deb12u1', '1.0-1+deb12u1', '1.0-1~bpo11+1', '1.00', '1.000-1', '2:0.1', '10:1', '1.0-1.1', '1.0-a',
             '1.0-A', '1.0-~', '1.0-', '1.0.', '1.0+', '1.0~', '1.a.b', '1.A', '1.-', '9.8.7', '1.0+dfsg-1', '1.0+dfsg1-1',
             '1:1.2.13.dfsg-1', '3.0.22-1~deb12u1', '3.0.22-1~deb12u2', '3.0.22-1', '2.36-9+deb12u14', '0', '00', '0.0-0'],
    'rpm': ['1.0', '1.0-1', '0:1.0-1', '1:1.0-1', '1.0~rc1-1', '1.0^git1-1', '1.0^-1', '1.0~-1', '1.0.1-1', '1.0a-1', '1.0.a-1',
            '1.0_1-1', '1.0-1.el8', '1.0-1.el8_6', '1.0-1.el8_10', '1.0-1.fc39', '1.0-1.fc40', '2:1.0-0.1.rc1.fc39',
            '1.0^20230101git1234-1', '1.0~beta^post-1', '5.14.0-427.13.1.el9_4', '5.14.0-427.el9', '0.9.8zh-1', '1.01-1',
            '1.001-1', 'a-1', 'A-1', '1.0-1a', '1.0-1.a', '1..0-1', '1.0--1', '.1-1', '1.0', '1.0.0', '1.0+1-1', '1.0~~-1'],
    'pep440': ['1.0', '1.0.0', 'v1.0', 'V1.0', ' 1.0 ', '1!1.0', '0!1.0', '1.0a1', '1.0A1', '1.0alpha1', '1.0-alpha.1', '1.0_a_1',
               '1.0b2', '1.0beta2', '1.0c1', '1.0rc1', '1.0pre1', '1.0preview1', '1.0a', '1.0.post1', '1.0post1', '1.0-1',
               '1.0-r1', '1.0.rev1', '1.0.post', '1.0.dev1', '1.0dev', '1.0.dev0', '1.0a1.dev1', '1.0a1.post1.dev1',
               '1.0.post1.dev1', '1.0+local', '1.0+local.1', '1.0+local.2', '1.0+1', '1.0+abc.5', '1.0+abc-5', '1.0+ABC',
               '1.0+5.abc', '1.0.0+local', '01.00', '1.01', '2012.10', '2012.10.1', '1.0.0.0.0.1', '1.0rc', '1.0c', '0.0.0',
               '1.0.x', '1..0', '1.0+', '1.0+local..1', 'a1.0', '1.0-dev-1', '1.0.dev.post1', '', 'latest', '1.0-beta',
               '1.0_post_1', '1.0.post.1', '1.0-rc.1', '1.0.RC1', '1.0a.1', '1.0a-1', '20210101123456789012', '1.0ab'],
    'go': ['1.0.0', 'v1.0.0', '1.0.0-rc.1', '1.0.0-rc.2', '1.0.0-beta', '1.0.0+incompatible', '2.0.0+incompatible',
           '2.0.0', '0.0.0-20191109021931-daa7c04131f5', '0.0.0-20200101000000-000000000000', '1.2.4-0.20191109021931-daa7c04131f5',
           '1.2.3', '1.2.4-pre.0.20191109021931-daa7c04131f5', '1.2', 'v1', '1.2.3.4', '01.2.3', '1.02.3', '1.2.3-01',
           '1.2.3-0a', '1.2.3+meta', '1.2.3-rc.1+meta', '1.2-pre', 'v1.2.3 ', '', '1.21.0-0', '1.21.0-rc.1', '1.20.5',
           '1.2.3-', '1.2.3+', '1.2.3-a..b', '1.2.3-alpha.beta', '1.2.3-alpha.1', '1.2.3-alpha.10', '1.2.3-alpha.2'],
    'cargo': ['1.0.0', '0.1.0', '0.0.1', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2',
              '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0+build', '1.0.0+build.01', '1.0.0-x.7.z.92', '1.0.0-0', '1.0.0-00',
              '01.0.0', '1.0', 'v1.0.0', ' 1.0.0', '1.0.0 ', '1.0.0-', '1.0.0+', '18446744073709551615.0.0',
              '18446744073709551616.0.0', '1.0.0-alpha..1', '1.0.0-α', '0.3.0-rc.1', '0.3.0-rc.1.1', '2.0.0-rc.1-2'],
    'npm': ['1.0.0', 'v1.0.0', '=1.0.0', ' 1.0.0 ', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta.2',
            '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0+build', '1.0.0-0', '1.0.0-00', '01.0.0', '1.0', '1.0.0-x-y-z.--',
            '9007199254740991.0.0', '9007199254740992.0.0', '1.0.0-alpha+001', '1.0.0+20130313144700', 'V1.0.0', 'v 1.0.0',
            '1.2.3-DEV-SNAPSHOT', '1.2.3-SNAPSHOT-123', '2.0.0-rc.1+build.123', '1.0.0-alpha0.valid', '1.0.0-alpha.0valid'],
    'maven': ['1', '1.0', '1.0.0', '1-0', '1.0-0', '1-ga', '1-final', '1-release', '1.0.0.Final', '1-sp', '1-sp1', '1-sp-1',
              '1-rc', '1-cr', '1-rc1', '1-cr1', '1.0-RC1', '1.0.RC1', '1.0.0-RC1', '1-snapshot', '1-SNAPSHOT', '1.0-SNAPSHOT',
              '1-alpha', '1-a1', '1-alpha1', '1-alpha-1', '1a1', '1-beta', '1-b1', '1-milestone', '1-m1', '1-M1', '1-foo',
              '1-foo2', '1-bar', '1.foo', '1.foo2', '1-1', '1.1', '1-1.1', '1-x1', '1.x1', '1.0.0.X1', '1.0.0-X2', '1.0-alpha-1-SNAPSHOT',
              '2.12.7.1', '5.3.20.RELEASE', '31.1-jre', '31.1-android', '1.0-beta-2', '1.0.0-M1', '2.0.0-alpha.1',
              '1.0.0-20230101.120000-1', '1.01', '1.001', '1.0.1a', '1.0.1-a', '1.0.1.a', '1..1', '1.-1', '1-.1', '1.0.',
              '1-', '0', '0.0', '00', '1.2.3.4.5.6.7.8.9.10', '10000000000', '100000000000000000000', '1.0-RELEASE',
              '1.0.GA', '1.0.0-ga', 'a', 'b', 'alpha', '1.2-SNAPSHOT', '1.2.7', '3.0.0-beta1', '3.0.0-beta-1', '3.0.0.beta1'],
    'rubygems': ['1', '1.0', '1.0.0', '1.0.a', '1.0.a1', '1.0.b', '1.0.rc1', '1.0.0.rc1', '1.0.0.pre', '1.0.0-pre', '1.0.0-rc1',
                 '1.0.0-beta.1', '1.0.0-1', '1.a', '1.A', '1.0.a.0', '1.0.a.1', '1.0.0.1', '1.9.3', '1.10.0', '0.0.1', '2.0.0.preview1',
                 '3.1.0.pre.alpha', '5.0.0.beta2', '5.0.0.rc2', '5.0.0', '5.0.0.1', '', ' ', ' 1.0 ', '1.0 ', '01.0', '1.00',
                 '1..0', '1.0.', '.1', 'a', '1-', '1.0-', '1.0.0a', '1.0.0ab1', '1.0.0.x.y', '1.2.3.4.5', '123456789012345678901.0'],
}

if eco == 'dpkg':
    debian_versions()
elif eco == 'rpm':
    debian_versions()
elif eco == 'pep440':
    osv_versions('PyPI')
elif eco == 'go':
    osv_versions('Go')
elif eco == 'cargo':
    osv_versions('crates.io')
elif eco == 'npm':
    npm_index_versions()
    osv_versions('Go')
elif eco == 'maven':
    repo = os.path.expanduser('~/.m2/repository')
    for root, dirs, files in os.walk(repo):
        if any(f.endswith('.pom') for f in files):
            out.append(os.path.basename(root))
elif eco == 'rubygems':
    pass
out.extend(EDGE.get(eco, []))
seen = set()
for v in out:
    if '\t' in v or '\n' in v or v in seen:
        continue
    seen.add(v)
    print(v)
