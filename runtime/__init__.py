"""superc: an OCI runtime built from Linux primitives (runc's job).

Kept empty on purpose: `superc` imports only the modules a command needs.

    cli.py          the `superc` command: flags -> one `api.Runtime` method
    api.py          the library API (also what the spawner runs)
    spawner.py      the warm path for a threaded caller (the agent)
    spec.py         config.json -> plain typed records         (configuration,
    config.py       -> the runtime's own config                  three layers)
    validate.py     -> a flat list of checks
    specgen.py      `superc spec`: runc's default config.json
    container.py    status derived from the kernel; the state machine
    state.py        the state directory: files, locks
    create.py       create, caller side     monitor.py   the init's parent
    nsexec.py       entering namespaces     init.py      the container's PID 1
    rootfs.py       mounts, /dev, pivot_root, masked and read-only paths
    security.py     rlimits, user, capabilities, no_new_privs (python-prctl)
    start.py, signals.py, destroy.py        start, kill, delete
    execute.py, setns_init.py               exec, caller and child side
    hooks.py, stdio.py, sync.py, launch.py  OCI hooks, stdio and ptys, the sync
                                            channel, what forked children inherit
    linux.py        the syscall boundary (ctypes), every call traced
    explain.py      the `--explain` trace
    cgroups/        the cgroup drivers behind one interface
    errors.py       the exception tree
"""
