#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Each shared library exports exactly the functions its public headers
declare: no internal helper leaks out (a user could come to rely on it),
and no declared function is missing (a user could not link).

    exported_symbols.py LIB.so HEADER [HEADER...] [-- LIB.so HEADER...]

A declared function is a line of a header that starts with a return type
and names a vamos_* function (static inline ones excluded: they are
compiled into the caller). Exported means a defined dynamic symbol (nm -D).
"""
import re
import subprocess
import sys

DECL = re.compile(r'^(?!static\b)(?!typedef\b)[A-Za-z_][^;{}()]*?\b(vamos_\w+)\s*\(')


def declared(headers):
    names = set()
    for path in headers:
        text = open(path, encoding='utf-8').read()
        text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)  # comments
        for line in text.splitlines():
            m = DECL.match(line)
            if m:
                names.add(m.group(1))
    return names


def exported(lib):
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in 'TWDBRV' and not parts[2].startswith('_'):
            names.add(parts[2].split('@')[0])
    return names


def main(argv):
    groups, cur = [], []
    for a in argv:
        if a == '--':
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    bad = 0
    for g in groups:
        lib, headers = g[0], g[1:]
        want, have = declared(headers), exported(lib)
        if not want:
            print(f'{lib}: no declarations found in {headers}')
            bad += 1
        for name in sorted(have - want):
            print(f'{lib}: exports {name}, which its headers do not declare')
            bad += 1
        for name in sorted(want - have):
            print(f'{lib}: does not export {name}, which its headers declare')
            bad += 1
        print(f'{lib}: {len(have)} exported, {len(want)} declared')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
