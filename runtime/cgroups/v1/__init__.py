"""The cgroup v1 driver: one hierarchy per controller (hybrid and legacy layouts).

`manager.V1Manager` keeps one directory per mounted hierarchy and delegates each
concern to a small module per controller (`memory`, `cpu` with `cpuacct`,
`cpuset`, `pids`, `freezer`, `devices`, `blkio`), the way runc's `fs` driver does.
"""
