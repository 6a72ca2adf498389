"""`python -m gslb ...` runs the `gslb` command (handy where pip's script directory is not on PATH)."""

import sys

from gslb.cli import main

sys.exit(main())
