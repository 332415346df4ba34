"""Logging in vLLM's format: ``INFO 10-01 10:00:00 file.py:123] message``."""

import logging
import sys

_FORMAT = "%(levelname)s %(asctime)s %(filename)s:%(lineno)d] %(message)s"
_DATE_FORMAT = "%m-%d %H:%M:%S"

_root_logger = logging.getLogger("tinyllm")
_configured = False


def _configure_root_logger() -> None:
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(_FORMAT, datefmt=_DATE_FORMAT))
    _root_logger.addHandler(handler)
    _root_logger.setLevel(logging.INFO)
    _root_logger.propagate = False
    _configured = True


def init_logger(name: str) -> logging.Logger:
    """Return a logger under the ``tinyllm`` hierarchy, writing to stdout."""
    _configure_root_logger()
    return logging.getLogger(name)
