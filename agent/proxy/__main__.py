"""`python -m supernetes.agent.proxy ...`: see cli.py."""

import sys

from .cli import main

sys.exit(main())
