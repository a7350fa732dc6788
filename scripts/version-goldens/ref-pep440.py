#!/usr/bin/python3
"""PEP 440 with Debian's python3-packaging: `valid VERSION...` prints validity and the normal
form, `compare` orders `a<TAB>b` pairs on stdin ("!" when either is not a PEP 440 version)."""
import sys
from packaging.version import Version, InvalidVersion

def parse(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None

if sys.argv[1] == 'valid':
    for line in sys.stdin:
        v = line.rstrip('\n')
        p = parse(v)
        print(f'{v}\t' + ('invalid' if p is None else f'valid\t{p}'))
else:
    for line in sys.stdin:
        a, b = line.rstrip('\n').split('\t')
        x, y = parse(a), parse(b)
        op = '!' if x is None or y is None else '<' if x < y else '=' if x == y else '>'
        print(f'{a}\t{op}\t{b}')
