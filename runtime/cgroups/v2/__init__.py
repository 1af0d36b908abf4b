"""The cgroup v2 driver (unified hierarchy)."""
