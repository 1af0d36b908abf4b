"""One real cluster per test module, in a network namespace the module makes.

The agent runs with short periods so the suite stays quick (nodekit.TEST_AGENT_ARGS):
the runtime is relisted every 0.2 s, every pod re-synced every 2 s (configMap
volumes refresh then), and crash-loop back-off starts at 1 s and stops doubling
at 4 s. The busybox image comes from tests/agent/conftest.py's `busybox_layout`.
"""
