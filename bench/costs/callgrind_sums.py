#!/usr/bin/env python3
"""Sums over one callgrind output file, for bench/costs/guest_instructions.sh.

    callgrind_sums.py FILE OBJECT_SUBSTRING [MAIN_SUBSTRING]

Prints KEY=VALUE lines (instructions are Ir):
  total           the dump's total instructions
  obj_self        self instructions of functions in objects whose path
                  contains OBJECT_SUBSTRING (e.g. ha_vamos.so)
  obj_out         instructions of calls from those functions into other
                  objects except the main program (the object whose path
                  contains MAIN_SUBSTRING): libc's memcpy and malloc,
                  libstdc++'s strings
  allocs / frees  calls of malloc, calloc, realloc, aligned allocators /
                  of free (from anywhere)
  memcpy_calls    calls of memcpy/memmove (any of glibc's variants)
  memcpy_ir       instructions inside them, inclusive
  obj_memcpy_calls, obj_memcpy_ir   the same, called from OBJECT's functions
  obj_allocs      allocation calls (malloc family and operator new) made
                  from OBJECT's functions directly

Callgrind's format: name compression "(id) name" defines an id, "(id)"
reuses it (fn/cfn share ids, ob/cob share ids); a "calls=" line is
followed by the cost line of that call (inclusive), every other cost line
is the current function's self cost.
"""
import re
import sys

ALLOC = re.compile(r'^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|'
                   r'operator new.*)$')
LIBC_ALLOC = re.compile(r'^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign)$')
FREE = re.compile(r'^(free)$')
MEMCPY = re.compile(r'^(__)?(memcpy|memmove|mempcpy)(_[a-z0-9_]+)?$')


def main():
    path, want = sys.argv[1], sys.argv[2]
    main_sub = sys.argv[3] if len(sys.argv) > 3 else None
    names = {'ob': {}, 'fn': {}, 'fl': {}}
    space = {'ob': 'ob', 'cob': 'ob', 'fn': 'fn', 'cfn': 'fn',
             'fl': 'fl', 'fi': 'fl', 'fe': 'fl', 'cfi': 'fl', 'cfl': 'fl'}
    cur_ob = cur_fn = None
    call_ob = call_fn = None
    pending_call = 0  # calls count of the "calls=" line just read
    s = dict(total=0, obj_self=0, obj_out=0, allocs=0, frees=0, memcpy_calls=0,
             memcpy_ir=0, obj_memcpy_calls=0, obj_memcpy_ir=0, obj_allocs=0)

    def name(kind, rest):
        m = re.match(r'\((\d+)\)\s*(.*)$', rest)
        table = names[space[kind]]
        if not m:
            return rest
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1), '?')

    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in '+-*':
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    calls = pending_call
                    pending_call = 0
                    callee = call_fn or ''
                    in_obj = cur_ob is not None and want in cur_ob
                    to_ob = call_ob if call_ob is not None else cur_ob
                    other = to_ob is not None and want not in to_ob and \
                        not (main_sub and main_sub in to_ob)
                    if in_obj and other:
                        s['obj_out'] += ir
                    if LIBC_ALLOC.match(callee):
                        s['allocs'] += calls
                    if FREE.match(callee):
                        s['frees'] += calls
                    if in_obj and ALLOC.match(callee):
                        s['obj_allocs'] += calls
                    if MEMCPY.match(callee):
                        s['memcpy_calls'] += calls
                        s['memcpy_ir'] += ir
                        if in_obj:
                            s['obj_memcpy_calls'] += calls
                            s['obj_memcpy_ir'] += ir
                    call_ob = call_fn = None
                elif cur_ob is not None and want in cur_ob:
                    s['obj_self'] += ir
                continue
            key, _, rest = line.partition('=')
            if key == 'ob':
                cur_ob = name('ob', rest)
            elif key == 'fn':
                cur_fn = name('fn', rest)
                call_ob = call_fn = None
            elif key == 'cob':
                call_ob = name('cob', rest)
            elif key == 'cfn':
                call_fn = name('cfn', rest)
            elif key in ('fl', 'fi', 'fe', 'cfi', 'cfl'):
                name(key, rest)
            elif key == 'calls':
                pending_call = int(rest.split()[0])
            elif line.startswith('summary:') or line.startswith('totals:'):
                s['total'] = int(line.split()[1])
    for k, v in s.items():
        print(f'{k}={v}')


if __name__ == '__main__':
    main()
