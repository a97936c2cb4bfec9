"""Starts moto's server with one fix for a moto bug.

moto 5.2 stores a task container's `cpu` and `memory` as they appear in the
container definition (numbers), and returns them as JSON numbers. The ECS API
model says strings, and real ECS sends strings, so the Rust SDK rejects every
DescribeTasks and RunTask response from an unpatched moto ("type mismatch:
expected string"). This wraps `Container.__init__` to turn the two into
strings, then hands over to moto's own `main()` with the same arguments.
"""

import sys

import moto.ecs.models as ecs_models
from moto.server import main

_original_init = ecs_models.Container.__init__


def _init_with_string_sizes(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    for attr in ("cpu", "memory"):
        value = getattr(self, attr, None)
        if value is not None and not isinstance(value, str):
            setattr(self, attr, str(value))


ecs_models.Container.__init__ = _init_with_string_sizes

if __name__ == "__main__":
    main(sys.argv[1:])
