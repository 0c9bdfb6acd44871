"""Log output: one format for our lines and uvicorn's, JSON (one object a line, for collectors) or text.

JSON goes through python-json-logger (a well-kept formatter: it serialises `extra` fields, exceptions and odd
values, which a hand-written formatter would have to get right again). JSON is the default when stderr is not a
terminal; `--log-format` or STOCKPOOL_LOG_FORMAT chooses.
"""

from __future__ import annotations

import logging.config
import os
import sys
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

FORMATS = ("json", "text")
LEVELS = ("debug", "info", "warning", "error")


def default_format() -> str:
    """STOCKPOOL_LOG_FORMAT, else text on a terminal and JSON otherwise."""
    chosen = os.environ.get("STOCKPOOL_LOG_FORMAT", "").strip().lower()
    if chosen:
        return chosen
    return "text" if sys.stderr.isatty() else "json"


def logging_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: everything (uvicorn's error log too) to stderr in one format.

    Uvicorn's access log is off: `api.observe` writes one line per request with more in it.
    """
    if log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message, with colours
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"stockpool": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "stockpool", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def configure(log_format: str, level: str = "info") -> None:
    logging.config.dictConfig(logging_config(log_format, level))
