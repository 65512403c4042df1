#!/usr/bin/env python3
"""Nodal solution of a crossbar with wire resistance, independent of ngspice and of DFCSpice.

    python3 crossbar_ir.py SPEC.json  ->  prints the current into each row's virtual ground

SPEC: {"gPlus": [[...]], "gMinus": [[...]], "x": [...], "rowSegment", "columnSegment",
"driver", "rowEnd"} (siemens, volts, ohms; all wire resistances > 0). The + line of column c
is driven at x[c], the − line at −x[c]; rows end at 0 V through rowSegment + rowEnd. Each cell
sits on one row segment and one segment of each column wire; drivers feed row 0 first.
"""
import json
import sys

import numpy as np

spec = json.load(open(sys.argv[1]))
gp, gn, x = np.array(spec["gPlus"]), np.array(spec["gMinus"]), np.array(spec["x"])
m, n = gp.shape
rs, cs, drv, end = spec["rowSegment"], spec["columnSegment"], spec["driver"], spec["rowEnd"]
index = {}
for r in range(m):
    for c in range(n):
        index[("R", r, c)] = len(index)
for c in range(n):
    for r in range(m):
        index[("P", c, r)] = len(index)
        index[("N", c, r)] = len(index)
G = np.zeros((len(index), len(index)))
b = np.zeros(len(index))


def link(a, bnode, g):
    i, j = index[a], index[bnode]
    G[i, i] += g; G[j, j] += g; G[i, j] -= g; G[j, i] -= g


def to_fixed(a, g, volts):
    i = index[a]
    G[i, i] += g
    b[i] += g * volts


for r in range(m):
    for c in range(n):
        link(("P", c, r), ("R", r, c), gp[r, c])
        link(("N", c, r), ("R", r, c), gn[r, c])
    for c in range(n - 1):
        link(("R", r, c), ("R", r, c + 1), 1 / rs)
    to_fixed(("R", r, n - 1), 1 / (rs + end), 0.0)
for c in range(n):
    to_fixed(("P", c, 0), 1 / (drv + cs), x[c])
    to_fixed(("N", c, 0), 1 / (drv + cs), -x[c])
    for r in range(m - 1):
        link(("P", c, r), ("P", c, r + 1), 1 / cs)
        link(("N", c, r), ("N", c, r + 1), 1 / cs)
v = np.linalg.solve(G, b)
print(" ".join(repr(float(v[index[("R", r, n - 1)]] / (rs + end))) for r in range(m)))
