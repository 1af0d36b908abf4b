"""The package layout: folders mapped onto one `supernetes` namespace, commands installed."""

import configparser
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    return cfg


def _package_dirs(cfg: configparser.ConfigParser) -> dict[str, str]:
    mapping = {}
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, folder = (part.strip() for part in line.split("="))
        mapping[name] = folder
    return mapping


def test_every_package_folder_is_listed_in_setup_cfg():
    cfg = _setup_cfg()
    listed = set(cfg["options"]["packages"].split())
    found = set()
    for name, folder in _package_dirs(cfg).items():
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, folder)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            if "__init__.py" in filenames:
                rel = os.path.relpath(dirpath, os.path.join(ROOT, folder))
                found.add(name if rel == "." else f"{name}.{rel.replace(os.sep, '.')}")
    assert found - listed == set(), "packages missing from setup.cfg [options] packages"
    assert listed - found == set(), "setup.cfg lists packages that have no folder"


def test_no_bare_top_level_module_is_importable_from_the_install():
    code = "import importlib.util as u; print(u.find_spec('runtime'), u.find_spec('agent'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd="/", check=True).stdout
    assert out.strip() == "None None"


def test_console_scripts_are_installed_and_answer_help():
    bindir = os.path.dirname(sys.executable)
    for script in ("superc", "superlet", "superctl", "supernetes"):
        path = shutil.which(script, path=bindir)
        assert path, f"{script} is not installed next to {sys.executable}"
        result = subprocess.run([path, "--help"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
