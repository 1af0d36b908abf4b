"""Scheduler tests: the builders in sched_builders.py are importable from every test
module here (pytest runs in importlib mode, which puts no test folder on sys.path)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
