"""`python -m bots …`: see bots/cli.py."""

import sys

from bots.cli import main

sys.exit(main())
