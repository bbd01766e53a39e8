"""The log file rotates as logging's RotatingFileHandler would, private and redacted."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from carctl.logs import RotatingFile, remember_secrets, setup_logging


def test_the_log_rotates_into_three_private_older_files(tmp_path: Path) -> None:
    path = tmp_path / "carctl.log"
    handler = RotatingFile(path, max_bytes=1000, backups=3)
    logger = logging.getLogger("carctl.rotation-test")
    logger.handlers, logger.propagate = [handler], False
    try:
        for n in range(200):
            logger.warning("line %03d %s", n, "x" * 40)
    finally:
        handler.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["carctl.log", "carctl.log.1", "carctl.log.2", "carctl.log.3"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 1000 + 60
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) & 0o077 == 0
    assert "line 199" in path.read_text()  # the newest line is in the current file
    assert "line 000" not in "".join((tmp_path / n).read_text() for n in files)  # the oldest go


def test_what_reaches_the_file_is_redacted(tmp_path: Path) -> None:
    path = tmp_path / "log" / "carctl.log"
    setup_logging(path)
    remember_secrets("s3cret-refresh-token")
    logging.getLogger("carctl.test").warning("renewed with s3cret-refresh-token")
    for handler in logging.getLogger("carctl").handlers:
        handler.flush()
    text = path.read_text()
    assert "renewed with [redacted]" in text and "s3cret" not in text
