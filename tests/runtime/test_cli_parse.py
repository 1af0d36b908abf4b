"""superc's hand parser for the lifecycle commands agrees with argparse, or leaves it the line."""

import subprocess
import sys

import pytest

from supernetes.runtime import cli

PLAIN = [
    "run --bundle /b c1", "run -b /b c1", "run --bundle=/b c1", "run -d --bundle /b c1",
    "run c1 --bundle /b -d", "run --bundle= c1", "run --bundle /a --bundle /b c1",
    "--root /r run --bundle /b c1", "--root=/r --cgroup-root=/x run c1", "--root= state c1",
    "--explain run c1", "run --explain c1", "--root /r --explain create -b . x",
    "create --pid-file /p --console-socket /s c1", "create --pid-file=/p c1", "create c1",
    "start c1", "start --explain c1", "state c1",
    "kill c1", "kill c1 KILL", "kill --all c1 9", "kill -a c1 TERM",
    "delete c1", "delete -f c1", "delete --force c1", "delete -f -f c1",
]
UNUSUAL = [
    "", "--help", "run --help", "-h", "bogus c1", "-- run c1", "run -- c1",
    "run", "run c1 c2", "run --bundle", "run --bundle -x c1", "run --bund /b c1", "run -bX c1",
    "run --detach=1 c1", "kill", "kill c1 2 3", "kill c1 -9", "kill c1 -- 9",
    "state --explain c1", "delete -fa c1", "--root", "--root -x run c1", "--explain=1 run c1",
    "start c1 --root /x", "list", "exec c1 -- true", "update --memory 1m c1",
]


def argparse_result(argv: list[str]) -> dict | str:
    try:
        return vars(cli._parser(cli._command_in(argv)).parse_args(argv))
    except SystemExit as exc:
        return f"exit {exc.code}"


@pytest.mark.parametrize("line", PLAIN)
def test_plain_lifecycle_lines_parse_exactly_as_argparse_parses_them(line):
    fast = cli._parse_fast(line.split())
    assert fast is not None
    assert vars(fast) == argparse_result(line.split())


@pytest.mark.parametrize("line", UNUSUAL)
def test_anything_unusual_is_left_to_argparse(line, capsys):
    assert cli._parse_fast(line.split()) is None


def test_the_lifecycle_commands_load_neither_argparse_nor_json_nor_enum(tmp_path):
    # `delete` of a missing container: parsed, dispatched (api.py imports all that
    # create and run need), failed cleanly; plus both cgroup drivers.
    code = ("import sys; from supernetes.runtime import cli; "
            f"code = cli.run(['--root', {str(tmp_path)!r}, 'delete', 'nope']); "
            "import supernetes.runtime.cgroups.v1.manager, supernetes.runtime.cgroups.v2; "
            "heavy = {'argparse', 'json', 're', 'enum', 'signal', 'collections', 'cgroupspy'}; "
            "print(code, sorted(heavy & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "1 []"
    assert "does not exist" in result.stderr
