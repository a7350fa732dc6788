#!/usr/bin/env python3
"""Reads version strings (one a line) and prints N deterministic pairs `a<TAB>b`: half drawn at
random, half neighbours in lexical order (the pairs that differ late, where orderings disagree).
Usage: pairs.py N SEED < corpus"""
import random, sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
vs = [l.rstrip('\n') for l in sys.stdin]
rng = random.Random(seed)
pairs = []
s = sorted(vs)
for i in range(len(s) - 1):
    pairs.append((s[i], s[i + 1]))
rng.shuffle(pairs)
pairs = pairs[: n // 2]
while len(pairs) < n and len(vs) > 1:
    a, b = rng.choice(vs), rng.choice(vs)
    pairs.append((a, b))
for a, b in pairs:
    if rng.random() < 0.5:
        a, b = b, a
    print(f'{a}\t{b}')
