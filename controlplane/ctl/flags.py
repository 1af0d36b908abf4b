"""Flag types shared by verbs: Go-style booleans (`--wait=false`) and durations."""

from __future__ import annotations

import argparse

from .context import parse_duration


def go_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "t", "true", "yes"):
        return True
    if lowered in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f'invalid boolean value "{text}"')


def add_bool(parser, flag: str, default: bool, help: str) -> None:
    """`--flag`, `--flag=true`, `--flag=false`, as Go's pflag accepts them."""
    parser.add_argument(flag, type=go_bool, nargs="?", const=True, default=default, help=help)


def duration(flag: str):
    def parse(text: str) -> float:
        try:
            return parse_duration(text, flag)
        except Exception as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return parse


def add_dry_run(parser) -> None:
    parser.add_argument("--dry-run", nargs="?", const="client", default="none",
                        choices=["none", "client", "server"],
                        help="client: only print what would be sent; server: ask the server "
                             "to check it without persisting")


def dry_run_suffix(mode: str) -> str:
    return {"client": " (dry run)", "server": " (server dry run)"}.get(mode, "")
