"""`superlet run --token-file`: the bootstrap token from a file, so `ps` never shows it."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from supernetes.agent import cli

SUPERLET = str(Path(sys.executable).parent / "superlet")
TOKEN = "abcdef.0123456789abcdef"


def config_of(*argv: str):
    parser = argparse.ArgumentParser()
    cli._add_run(parser.add_subparsers())
    return cli.config_from_args(parser.parse_args(["run", *argv]))


def superlet_run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([SUPERLET, "run", "--server", "https://127.0.0.1:9", *argv],
                          capture_output=True, text=True, timeout=60)


def test_the_token_file_gives_the_token_without_its_newline(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    assert config_of("--token-file", str(path)).token == TOKEN


def test_the_token_on_the_command_line_still_works():
    assert config_of("--token", TOKEN).token == TOKEN


@pytest.mark.parametrize("content, reason", [
    (None, "No such file or directory"),
    ("", "the file is empty"),
    ("\n \n", "the file is empty"),
    ("one two", "expected one token, found several words"),
    ("dir", "Is a directory"),
])
def test_a_bad_token_file_is_one_line_on_stderr_and_exit_1(tmp_path, content, reason):
    path = tmp_path / "token"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    result = superlet_run("--token-file", str(path))
    assert result.returncode == 1
    assert result.stderr == f"superlet: --token-file {path}: {reason}\n"


def test_token_and_token_file_together_are_refused(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN)
    result = superlet_run("--token", TOKEN, "--token-file", str(path))
    assert result.returncode == 2
    assert "argument --token-file: not allowed with argument --token" in result.stderr
    assert "Traceback" not in result.stderr
