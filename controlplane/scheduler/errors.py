"""The scheduler's errors.

    SchedulerError
    +-- ConfigError   the scheduler configuration file is malformed or names an
    |                 unknown plugin, field or strategy (one line, naming the field)
    +-- PodSpecError  a pending pod the scheduler cannot interpret (a request that is
                      not a quantity); the pod is reported unschedulable, never crashes
                      the loop

Failures to place a pod are not exceptions: they are a `FitError` value
(`diagnosis.py`), because an unschedulable pod is an ordinary outcome.
"""


class SchedulerError(Exception):
    """Base of every scheduler error."""


class ConfigError(SchedulerError):
    """The scheduler configuration is invalid."""


class PodSpecError(SchedulerError):
    """A pod's spec cannot be interpreted for scheduling."""
