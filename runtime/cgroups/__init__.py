"""cgroup drivers: one interface, a v1 and a v2 driver chosen by a factory."""
