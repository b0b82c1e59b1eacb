#!/usr/bin/env python3
"""Lists the C functions of src/ longer than a limit (issue 15: "split
functions over ~150 lines into named steps").

A function is a top-level { ... } block that follows a ')'; comments,
strings and character literals are blanked first so that their braces do
not count. Prints "lines  file:line  name", longest first; exits 1 when
any function is over the limit.

usage: tools/long_functions.py [--limit N] [FILE.c ...]   (default: 150, src/**/*.c)
"""
import argparse
import glob
import re
import sys

BLANK = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def functions(text):
    """Yields (first line, last line, name) of each function body in text."""
    s = BLANK.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)
    depth, start, prev_end = 0, None, 0
    for i, ch in enumerate(s):
        if ch == '{':
            if depth == 0:
                head = s[prev_end:i]
                start = i if head.rstrip().endswith(')') else None
                name = re.search(r'(\w+)\s*\(', head)
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0:
                if start is not None:
                    yield s.count('\n', 0, start) + 1, s.count('\n', 0, i) + 1, name.group(1) if name else '?'
                prev_end = i + 1
        elif ch == ';' and depth == 0:
            prev_end = i + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--limit', type=int, default=150)
    ap.add_argument('files', nargs='*')
    a = ap.parse_args()
    found = []
    for f in a.files or sorted(glob.glob('src/**/*.c', recursive=True)):
        with open(f, encoding='utf-8', errors='replace') as fh:
            for first, last, name in functions(fh.read()):
                if last - first + 1 > a.limit:
                    found.append((last - first + 1, f, first, name))
    for n, f, line, name in sorted(found, reverse=True):
        print(f'{n:5d}  {f}:{line}  {name}')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
