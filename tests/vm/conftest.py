"""Fixtures for the VM harness test: the harness module itself.

`harness.py` is a script as well as a module; pytest's importlib mode does not
put this folder on sys.path, so it is loaded from its file.
"""

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def harness():
    spec = importlib.util.spec_from_file_location(
        "supernetes_vm_harness", Path(__file__).with_name("harness.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
