"""The `superlet` command: the node agent's CLI.

For now it has one subcommand, `superlet image ...` (pull, push, import, export,
ls, inspect, rm, prune, du, build, bundle, release), which lives with the image
tools in `supernetes.rootfs.cli`; the agent issue adds the agent itself here.
"""

import argparse
import sys

from supernetes.rootfs import cli as image_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="superlet", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    image_cli.register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
