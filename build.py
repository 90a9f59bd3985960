#!/usr/bin/env python3
"""The entry point: `python build.py …` is `banmian …` (build by default)."""

import sys
from pathlib import Path

# Run from a checkout without installing: the package sits beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import banmian  # noqa: E402

banmian.keep_bytecode()  # before the other modules are imported

from banmian.cli import run  # noqa: E402

if __name__ == "__main__":
    run()
