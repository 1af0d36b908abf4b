"""The architecture stays checkable: import-linter's contracts in setup.cfg hold.

grimp (import-linter's graph builder) walks the root package's folder, and in an
editable install `supernetes.runtime` does not live inside `cluster/`. So the
check runs on a copy of the sources laid out as the installed package is, built
from setup.cfg's own `package_dir` mapping.
"""

import configparser
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _installed_layout(dest: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, folder = (part.strip() for part in line.split("="))
        target = os.path.join(dest, *name.split("."))
        source = os.path.join(ROOT, folder)
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, source)
            for f in filenames:
                if f.endswith(".py"):
                    os.makedirs(os.path.join(target, rel), exist_ok=True)
                    shutil.copy(os.path.join(dirpath, f), os.path.join(target, rel, f))


def _lint_imports(tree: str) -> subprocess.CompletedProcess:
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    env = dict(os.environ, PYTHONPATH=tree)
    return subprocess.run([lint, "--config", os.path.join(ROOT, "setup.cfg"), "--no-cache"],
                          capture_output=True, text=True, env=env, cwd=tree)


def test_import_contracts_hold(tmp_path):
    _installed_layout(str(tmp_path))
    result = _lint_imports(str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_forbidden_import_breaks_a_contract(tmp_path):
    _installed_layout(str(tmp_path))
    (tmp_path / "supernetes" / "runtime" / "_forbidden.py").write_text(
        "from supernetes.controlplane import store\n")
    result = _lint_imports(str(tmp_path))
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
