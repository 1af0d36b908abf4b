"""What CI can check of the Vagrant lab without booting it (vagrant/README.md).

Vagrant boxes cannot be downloaded here, so these tests check the files
themselves, with the real tools: `ruby -c` and a stand-in for Vagrant's
configuration API (vagrant_stub.rb) on the Vagrantfile, `shellcheck` on every
provisioning script, `systemd-analyze verify` on every unit (pointed at
executables that exist here, warnings counted as failures), and join.sh run for
real into a temporary directory, its unit's command line expanded as systemd
does and parsed by `superlet run` itself. Each check is also shown failing on a
broken copy, so none of them can pass by accident.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supernetes.agent import cli as agent_cli

REPO = Path(__file__).resolve().parents[2]
VAGRANT = REPO / "vagrant"
SCRIPTS = sorted((VAGRANT / "provision").glob("*.sh"))
UNITS = sorted((VAGRANT / "systemd").glob("*.service"))
STUB = Path(__file__).with_name("vagrant_stub.rb")
BIN = Path(sys.executable).parent
INSTALL = "/vagrant/vagrant/provision/install.sh /vagrant"


def needs(tool: str):
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"needs {tool} (apt install {tool}; make install has it)")


def run(*argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)


# --- the Vagrantfile ------------------------------------------------------------------

@needs("ruby")
def test_the_vagrantfile_is_valid_ruby(tmp_path):
    assert run("ruby", "-c", str(VAGRANT / "Vagrantfile")).returncode == 0
    broken = tmp_path / "Vagrantfile"
    broken.write_text((VAGRANT / "Vagrantfile").read_text().replace("end\n", "", 1))
    assert run("ruby", "-c", str(broken)).returncode != 0


@pytest.fixture
def vagrant_config(tmp_path) -> dict:
    """What the Vagrantfile configures, read through vagrant_stub.rb (on a copy: loading
    it makes the join folder next to it)."""
    if shutil.which("ruby") is None:
        pytest.skip("needs ruby")
    copy = tmp_path / "vagrant"
    shutil.copytree(VAGRANT, copy, ignore=shutil.ignore_patterns(".cluster", ".vagrant"))
    result = run("ruby", str(STUB), str(copy / "Vagrantfile"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs("ruby")
def test_the_vagrantfile_defines_a_control_plane_and_two_workers_on_debian_12(vagrant_config):
    assert vagrant_config["box"] == "debian/bookworm64"
    machines = vagrant_config["machines"]
    assert sorted(machines) == ["cp", "w1", "w2"]
    addresses = {name: [n["ip"] for n in m["vm"]["networks"] if n["kind"] == "private_network"]
                 for name, m in machines.items()}
    assert addresses == {"cp": ["192.168.56.10"], "w1": ["192.168.56.11"],
                         "w2": ["192.168.56.12"]}
    assert {name: m["vm"]["hostname"] for name, m in machines.items()} == \
        {"cp": "cp", "w1": "w1", "w2": "w2"}


@needs("ruby")
def test_both_providers_get_the_shared_join_folder(vagrant_config):
    providers = vagrant_config["providers"]
    assert sorted(providers) == ["libvirt", "virtualbox"]
    for name, provider in providers.items():
        assert provider["settings"]["cpus"] >= 2, name
        folders = {f["guest"]: f["type"] for f in provider["override"]["synced_folders"]}
        assert folders["/srv/supernetes-join"] in ("virtiofs", "virtualbox"), name
    repo = [f for f in vagrant_config["synced_folders"] if f["guest"] == "/vagrant"]
    assert repo and repo[0]["host"] == ".." and ".venv/" in repo[0]["rsync__exclude"]


@needs("ruby")
def test_every_machine_is_provisioned_with_the_readme_install_first(vagrant_config):
    for name, machine in vagrant_config["machines"].items():
        provisioners = machine["vm"]["provisioners"]
        assert provisioners[0]["inline"] == INSTALL, name
        for step in provisioners:   # each script runs from the synced repository
            script = step["inline"].split()[0]
            assert (VAGRANT / "provision" / Path(script).name).exists(), script
            assert script.startswith("/vagrant/vagrant/provision/"), script
    steps = {name: [p["name"] for p in m["vm"]["provisioners"]]
             for name, m in vagrant_config["machines"].items()}
    assert steps == {"cp": ["install", "control-plane", "kubectl"],
                     "w1": ["install", "join"], "w2": ["install", "join"]}


def test_install_sh_runs_the_same_install_command_as_the_readme():
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    readme_installs = [line.split("#")[0].strip() for block in blocks
                       for line in block.splitlines() if "make install" in line]
    assert "make install" in readme_installs
    commands = [line.strip() for line in (VAGRANT / "provision" / "install.sh").read_text()
                .splitlines() if line.strip().startswith("make ")]
    assert commands == ['make -C "$REPO" install']


# --- the provisioning scripts ---------------------------------------------------------

@needs("shellcheck")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_provisioning_script_is_strict_and_shellcheck_clean(script):
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(script, os.X_OK)
    result = run("shellcheck", "-x", str(script), cwd=script.parent)
    assert result.returncode == 0, result.stdout


@needs("shellcheck")
def test_shellcheck_rejects_a_broken_script(tmp_path):
    broken = tmp_path / "broken.sh"
    broken.write_text("#!/bin/bash\nset -euo pipefail\nrm -rf $1/*\n")
    assert run("shellcheck", str(broken)).returncode != 0


# --- the systemd units ----------------------------------------------------------------

def verify_unit(unit: Path, tmp_path: Path) -> list[str]:
    """systemd-analyze verify on a copy whose commands and environment file exist here;
    its complaints about the unit (warnings too, which alone exit 0) come back."""
    copy = tmp_path / unit.name
    env = tmp_path / "unit.env"
    env.write_text("")
    text = unit.read_text().replace("/usr/local/bin/", f"{BIN}/")
    text = re.sub(r"^EnvironmentFile=.*$", f"EnvironmentFile={env}", text, flags=re.M)
    copy.write_text(text)
    result = run("systemd-analyze", "verify", "--man=no", str(copy), cwd=tmp_path)
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if unit.name in line or str(copy) in line]
    if result.returncode != 0 and not complaints:
        complaints = [f"exit {result.returncode}: {result.stderr.strip()}"]
    return complaints


@needs("systemd-analyze")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_unit_passes_systemd_analyze_verify(unit, tmp_path):
    assert verify_unit(unit, tmp_path) == []


@needs("systemd-analyze")
@pytest.mark.parametrize("breakage", [("KillMode=process", "KillMode=procss"),
                                      ("Delegate=yes", "Delegat=yes"),
                                      ("ExecStart=", "#ExecStart=")])
def test_verify_catches_a_broken_unit(breakage, tmp_path):
    old, new = breakage
    broken = tmp_path / "src" / "superlet.service"
    broken.parent.mkdir()
    broken.write_text((VAGRANT / "systemd" / "superlet.service").read_text().replace(old, new))
    assert verify_unit(broken, tmp_path) != []


def unit_settings(unit: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in unit.read_text().splitlines()
                if "=" in line and not line.startswith("#"))


def test_the_agent_unit_delegates_its_cgroup_and_keeps_containers_on_restart():
    settings = unit_settings(VAGRANT / "systemd" / "superlet.service")
    assert settings["Delegate"] == "yes"
    assert settings["KillMode"] == "process"
    assert settings["Restart"] == "always"


# --- join.sh: the command a node joins with --------------------------------------------

def expand_exec_start(unit: Path, env: dict[str, str]) -> list[str]:
    """ExecStart= as systemd expands it: ${VAR} is one word, $VAR is split on spaces."""
    words = []
    for word in shlex.split(unit_settings(unit)["ExecStart"]):
        braced = re.fullmatch(r"\$\{(\w+)\}", word)
        bare = re.fullmatch(r"\$(\w+)", word)
        if braced:
            words.append(env.get(braced.group(1), ""))
        elif bare:
            words.extend(env.get(bare.group(1), "").split())
        else:
            words.append(word)
    return words


def run_join_sh(tmp_path: Path, token_text: str) -> tuple[subprocess.CompletedProcess, Path]:
    """join.sh for real, into tmp_path/etc and tmp_path/units, systemctl recorded."""
    units, fake_bin = tmp_path / "units", tmp_path / "bin"
    units.mkdir()
    fake_bin.mkdir()
    calls = tmp_path / "systemctl.calls"
    (fake_bin / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (fake_bin / "systemctl").chmod(0o755)
    token = tmp_path / "token"
    token.write_text(token_text)
    result = run(str(VAGRANT / "provision" / "join.sh"), "https://192.168.56.10:6443",
                 str(token), "/etc/supernetes/ca.crt", "192.168.56.11",
                 "--cluster-dns", "10.96.0.10",
                 "--register-with-taints", "node-role.kubernetes.io/control-plane:NoSchedule",
                 env={**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}",
                      "SUPERNETES_ETC": str(tmp_path / "etc"), "SYSTEMD_UNIT_DIR": str(units)})
    return result, calls


@needs("systemd-analyze")
def test_join_sh_starts_the_agent_with_the_command_superlet_accepts(tmp_path):
    secret = "abcdef.0123456789abcdef"
    result, calls = run_join_sh(tmp_path, secret + "\n")
    etc, units = tmp_path / "etc", tmp_path / "units"
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["daemon-reload", "enable superlet.service",
                                              "restart superlet.service"]
    token_file = etc / "bootstrap-token"
    assert token_file.read_text() == secret
    assert token_file.stat().st_mode & 0o077 == 0   # only root reads the bootstrap token
    env_file = etc / "superlet.env"
    assert secret not in env_file.read_text()
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert env["TOKEN_FILE"] == str(token_file)
    assert verify_unit(units / "superlet.service", tmp_path) == []

    argv = expand_exec_start(units / "superlet.service", env)
    assert argv[:2] == ["/usr/local/bin/superlet", "run"]
    assert secret not in " ".join(argv)           # what `ps` would show
    parser = argparse.ArgumentParser()
    agent_cli._add_run(parser.add_subparsers())
    config = agent_cli.config_from_args(parser.parse_args(argv[1:]))
    assert (config.server_url, config.token, config.ca_file, config.node_ip) == (
        "https://192.168.56.10:6443", secret, "/etc/supernetes/ca.crt", "192.168.56.11")
    assert config.cluster_dns == ("10.96.0.10",)
    assert config.taints == ({"key": "node-role.kubernetes.io/control-plane",
                              "effect": "NoSchedule"},)


def test_join_sh_refuses_an_empty_token_file_and_starts_nothing(tmp_path):
    result, calls = run_join_sh(tmp_path, " \n")
    assert result.returncode == 1
    assert result.stderr == f"join.sh: {tmp_path / 'token'} holds no token\n"
    assert not calls.exists()
    assert not (tmp_path / "etc" / "superlet.env").exists()
    assert not (tmp_path / "etc" / "bootstrap-token").exists()


def test_the_lab_and_the_vagrant_nodes_join_with_the_same_command(tmp_path):
    """`supernetes lab` boots its nodes with the same join command line the Vagrant
    unit runs: `superlet run --server URL --token-file F --ca-file CA`, then flags of their
    own (the lab: its backend and runtime; the VMs: --node-ip, --cluster-dns)."""
    from supernetes.lab.config import LabConfig
    from supernetes.lab.lab import agent_argv
    from supernetes.lab.state import LabState

    lab = agent_argv(LabState(LabConfig(name="joincheck", data_dir=str(tmp_path))),
                     "/lab/tokens/bootstrap", "/lab/ca.crt")
    unit = expand_exec_start(VAGRANT / "systemd" / "superlet.service",
                             {"SERVER": "https://10.0.0.1:6443",
                              "TOKEN_FILE": "/lab/tokens/bootstrap", "CA_FILE": "/lab/ca.crt"})

    def join_flags(argv: list[str]) -> list[str]:
        return [Path(argv[0]).name, argv[1], *[argv[i] for i in range(2, 8, 2)]]

    assert join_flags(lab) == join_flags(unit) == \
        ["superlet", "run", "--server", "--token-file", "--ca-file"]
    assert (lab[5], lab[7]) == (unit[5], unit[7]) == ("/lab/tokens/bootstrap", "/lab/ca.crt")
