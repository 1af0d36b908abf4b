"""superctl logs, exec and top end to end: the CLI, the API server's proxy, a node agent
serving real containers. kubectl's `exec -it` runs the same way, through a terminal."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agentkit import Node, busybox_template

SUPERCTL = str(Path(sys.executable).parent / "superctl")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    return busybox_template(tmp_path_factory.mktemp("busybox"))


@pytest.fixture
def node(tmp_path, server, busybox):
    node = Node(tmp_path, server, template=busybox)
    yield node
    node.close()


@pytest.fixture
def web(node, ns):
    pod = node.create_pod(ns, "web", ["app"])
    node.run(pod, "app", ["sh", "-c", "echo first; echo second; echo warn >&2; sleep 120"])
    node.wait_for(lambda: "warn" in node.admin_get(f"/containerLogs/{ns}/web/app").text)
    return pod


def test_logs_tail_timestamps_and_container(sctl, web):
    result = sctl("logs", "web")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == ["first", "second", "warn"]
    assert sctl("logs", "web", "-c", "app", "--tail", "1").stdout.count("\n") == 1
    stamped = sctl("logs", "web", "--timestamps", "--since", "1h").stdout.splitlines()
    assert len(stamped) == 3 and all(line[:4].isdigit() and "Z " in line for line in stamped)
    assert sctl("logs", "web", "--limit-bytes", "3").stdout in ("fir", "sec", "war")


def test_logs_previous_shows_the_instance_before_a_restart(sctl, node, ns):
    pod = node.create_pod(ns, "crashy", ["app"])
    node.wait_exit(node.run(pod, "app", ["sh", "-c", "echo dying words; exit 1"]))
    node.run(pod, "app", ["sh", "-c", "echo born again; sleep 120"], attempt=1)
    node.wait_for(lambda: "born" in node.admin_get(f"/containerLogs/{ns}/crashy/app").text)
    assert sctl("logs", "crashy").stdout == "born again\n"
    assert sctl("logs", "crashy", "-p").stdout == "dying words\n"


def test_logs_follow_streams_until_interrupted(server, ns, node, tmp_path):
    pod = node.create_pod(ns, "ticker", ["app"])
    node.run(pod, "app", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; "
                                      "done"])
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
           "KUBECONFIG": str(server.kubeconfig)}
    process = subprocess.Popen([SUPERCTL, "logs", "-f", "ticker", "-n", ns],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        assert lines == [b"tick %d\n" % i for i in range(1, 6)]
        assert process.poll() is None
        process.send_signal(2)                      # ^C: a quiet exit, no traceback
        assert process.wait(10) == 0
        assert process.stderr.read() == b""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_exec_passes_output_stdin_and_exit_status(sctl, ns, web):
    # `-n` before `--`: everything after it is the command.
    result = sctl("-n", ns, "exec", "web", "--", "sh", "-c", "hostname; echo oops >&2; exit 3",
                  namespaced=False)
    assert result.returncode == 3
    assert result.stdout == "web\n"
    assert "oops" in result.stderr
    assert "command terminated with exit code 3" in result.stderr
    piped = sctl("-n", ns, "exec", "-i", "web", "--", "sh", "-c", "tr a-z A-Z",
                 input="shout\n", namespaced=False)
    assert (piped.returncode, piped.stdout) == (0, "SHOUT\n")


def _in_a_terminal(argv, env, keystrokes: list[bytes], timeout: float = 30):
    """Run argv with a terminal as stdin/stdout/stderr; type each keystroke line at a
    shell prompt; its exit status and output."""
    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                               start_new_session=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    pending = list(keystrokes)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.3)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif pending and b"# " in output.rsplit(b"\n", 1)[-1]:   # at a prompt
                os.write(master, pending.pop(0))
                output += b"\n"          # so the next line waits for the next prompt
            elif process.poll() is not None:
                break
        return process.wait(10), output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


@pytest.mark.parametrize("binary", ["superctl", "kubectl"])
def test_exec_it_is_an_interactive_shell(binary, server, ns, web, tmp_path):
    argv = [SUPERCTL if binary == "superctl" else KUBECTL, "--kubeconfig",
            str(server.kubeconfig), "-n", ns, "exec", "-it", "web", "--", "sh"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "TERM": "dumb"}
    code, output = _in_a_terminal(argv, env, [b"echo $((6 * 7)); tty\r", b"exit 5\r"])
    assert code == 5, output
    assert b"42" in output and b"/dev/pts/" in output


def test_top_nodes_and_pods(sctl, node, ns):
    spinner = node.create_pod(ns, "spinner", ["app"])
    node.run(spinner, "app", ["sh", "-c", "while :; do :; done"])
    nodes = sctl("top", "nodes", node.name, namespaced=False)
    assert nodes.returncode == 0, nodes.stderr
    header, row = nodes.stdout.splitlines()
    assert header.split() == ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    assert row.split()[0] == node.name and row.split()[1].endswith("m")
    pods = sctl("top", "pods")
    assert pods.returncode == 0, pods.stderr
    name, cpu, memory = pods.stdout.splitlines()[1].split()
    # A spinning shell gets a good share of a core, even on a machine shared with others.
    assert name == "spinner" and int(cpu.rstrip("m")) > 50 and memory.endswith("Mi")
    per_container = sctl("top", "pods", "--containers").stdout.splitlines()
    assert per_container[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert per_container[1].split()[:2] == ["spinner", "app"]


def test_errors_are_one_line(sctl, web):
    missing = sctl("logs", "ghost")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "ghost" not found'
    wrong = sctl("logs", "web", "-c", "other")
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    no_command = sctl("exec", "web")
    assert no_command.returncode == 1 and "at least one command" in no_command.stderr
