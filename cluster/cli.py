"""The `supernetes` command: composes the control plane and the agent."""

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supernetes", description=__doc__)
    parser.add_argument("--version", action="version", version=f"supernetes {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
