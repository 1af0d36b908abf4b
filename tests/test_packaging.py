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


def test_a_regular_install_gives_working_imports_and_commands(tmp_path):
    """`pip install .` (not editable) into a fresh venv: the folders land as one
    `supernetes` namespace and every command runs from it, away from the repo."""
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")

    def purelib(interpreter: str) -> str:
        return subprocess.run([interpreter, "-c",
                               "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()

    # The dependencies come from the development venv (offline): a plain path entry,
    # which does not process that venv's .pth files, so its editable install stays out.
    with open(os.path.join(purelib(python), "dev-venv-deps.pth"), "w") as f:
        f.write(purelib(sys.executable) + "\n")
    # A copy of the sources: building writes build/ and *.egg-info next to them.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".cache", "tests"))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", str(source)], check=True, cwd=tmp_path)
    code = ("import supernetes, supernetes.runtime, supernetes.agent, "
            "supernetes.controlplane, supernetes.rootfs; print(supernetes.runtime.__file__)")
    where = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd="/",
                           check=True).stdout.strip()
    assert where.startswith(purelib(python) + "/supernetes/runtime/"), where
    for script in ("superc", "superlet", "superctl", "supernetes"):
        result = subprocess.run([str(venv / "bin" / script), "--help"], capture_output=True,
                                text=True, cwd="/")
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
