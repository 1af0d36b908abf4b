"""cgroup drivers: one interface, a v1 and a v2 driver chosen by a factory.

    base.py      the interface (Manager) and its plain types (Resources, Stats,
                 DeviceRule); errors: CgroupError (a RuntimeError), the only one
    factory.py   detect_mode(), new_manager(), from_paths()
    paths.py     placement: the caller's own cgroups, v1 mounts, paths below a parent
    fs.py        every cgroupfs read, write, mkdir and rmdir (traced for --explain)
    v1/          hybrid and legacy layouts: one module per controller
    v2/          the unified hierarchy: delegation, runc's conversions, eBPF devices

Kept empty on purpose, like the runtime package: importing a driver is the
factory's decision.
"""
