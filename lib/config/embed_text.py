#!/usr/bin/env python3
"""Wraps a text file into a C++ function returning it (the embedded default config)."""
import sys

src, dst, func = sys.argv[1:4]
text = open(src, encoding="utf-8").read()
delim = "espgw_embedded"
assert f'){delim}"' not in text
with open(dst, "w", encoding="utf-8") as out:
    out.write('#include "espgw/config/config.h"\n\n')
    out.write(f'const char* espgw::config::{func}() {{\n    return R"{delim}({text}){delim}";\n}}\n')
