"""carctl: a terminal companion for car owners.

The package root stays import-light on purpose: `carctl --help` must start in a
few milliseconds, so nothing here imports httpx, rich, keyring or the mock.
"""

__version__ = "0.1.0"
