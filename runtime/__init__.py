"""superc: an OCI runtime built from Linux primitives (runc's job).

Kept empty on purpose: `superc` imports only the modules a command needs.
"""
