"""Helpers of the end-to-end suite (tests/e2e_cluster): the real kubectl against the
cluster under test, and polling with a message that says what never happened.

Settings come from the environment (see tests/e2e_cluster/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

KUBECONFIG = os.environ.get("E2E_KUBECONFIG", "")
KUBECTL = os.environ.get("E2E_KUBECTL", "/usr/bin/kubectl")
IMAGE = os.environ.get("E2E_IMAGE", "localhost/busybox:latest")
TIMEOUT = float(os.environ.get("E2E_TIMEOUT", "120"))

class KubectlError(AssertionError):
    """kubectl failed; the message carries its stderr."""


class Kubectl:
    """The real kubectl against the cluster under test, in one namespace."""

    def __init__(self, kubeconfig: str, namespace: str):
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def run(self, *args: str, stdin: str | None = None, namespaced: bool = True,
            check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        argv = [KUBECTL, "--kubeconfig", self.kubeconfig, "--request-timeout", "30s"]
        if namespaced:
            argv += ["--namespace", self.namespace]
        result = subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)}: exit {result.returncode}: "
                               f"{result.stderr.strip()}")
        return result

    def json(self, *args: str, namespaced: bool = True) -> dict:
        return json.loads(self.run(*args, "-o", "json", namespaced=namespaced).stdout)

    def apply(self, manifest: dict) -> None:
        self.run("apply", "-f", "-", stdin=json.dumps(manifest))

    def exec(self, pod: str, *command: str, timeout: float = 30) -> str:
        return self.run("exec", pod, "--", *command, timeout=timeout).stdout

    def pods(self, selector: str) -> list[dict]:
        return self.json("get", "pods", "-l", selector)["items"]


def wait_for(check, what: str, timeout: float = TIMEOUT, interval: float = 0.5):
    """Poll `check()` until it returns something true; fail naming `what` and the last
    value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} "
                         f"(last seen: {last!r})")
