"""Every doctor check, in the order they run: importing this module registers them all.

Each check is one function with the `REGISTRY.check` decorator, in the module
of its subject; none of them wakes the car or sends a vehicle command (the API
check lists the cars, which never wakes one, and the vehicle check reads that
list). A new check is one decorated function: it appears in the report, the
bundle, `--list`, completion and, through what it declares it blames, the
verdict.
"""

from __future__ import annotations

from carctl.doctor import local_checks, network_checks, service_checks, setup_checks
from carctl.doctor.model import REGISTRY

__all__ = ["REGISTRY", "local_checks", "network_checks", "service_checks", "setup_checks"]
