"""Where carctl keeps its files.

platformdirs decides by default (config, state, log directories of the
platform); `CARCTL_HOME=DIR` puts all of them under one directory, which is
how tests, the demo and careful users isolate a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

APP_NAME = "carctl"
HOME_ENV = "CARCTL_HOME"


class Paths(NamedTuple):
    """A tuple, not a record: completion reads it on every Tab, before dataclasses load."""

    config_dir: Path
    state_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def state_db(self) -> Path:
        return self.state_dir / "state.db"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "carctl.log"

    def as_dict(self) -> dict[str, str]:
        return {
            "config": str(self.config_file),
            "state": str(self.state_db),
            "log": str(self.log_file),
        }


def resolve_paths(env: Mapping[str, str] | None = None) -> Paths:
    environ = os.environ if env is None else env
    home = environ.get(HOME_ENV, "").strip()
    if home:
        root = Path(home).expanduser().absolute()
        return Paths(config_dir=root / "config", state_dir=root / "state", log_dir=root / "log")
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
