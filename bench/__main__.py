"""``python -m bench …``: the command line lives in bench/run.py."""

import sys

from bench.run import main

sys.exit(main())
