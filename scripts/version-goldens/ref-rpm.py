#!/usr/bin/python3
"""Orders each `a<TAB>b` pair on stdin with rpm's own rpmverCmp (python3-rpm, rpm.ver)."""
import sys, rpm
for line in sys.stdin:
    a, b = line.rstrip('\n').split('\t')
    try:
        x, y = rpm.ver(a), rpm.ver(b)
        op = '<' if x < y else '=' if x == y else '>'
    except Exception:
        op = '!'
    print(f'{a}\t{op}\t{b}')
