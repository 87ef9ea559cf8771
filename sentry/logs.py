"""Structured logging with ``structlog``, imported only when something logs.

structlog (with the asyncio it pulls in) costs about 40 ms to import, a
quarter of a hello run, and most runs log nothing. Modules therefore take
a :class:`LazyLogger` from :func:`get_logger`; the first event imports and
configures structlog with the settings :func:`configure` recorded.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

_settings: dict[str, Any] = {"level": logging.ERROR, "out": None}
_configured = False


def configure(level: int, out: TextIO | None = None) -> None:
    """Record the threshold and destination for every logger (stderr by default)."""
    global _configured
    _settings["level"] = level
    _settings["out"] = out
    _configured = False


def _materialise() -> None:
    global _configured
    import structlog

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_settings["level"]),
        logger_factory=_StreamLogger,
        cache_logger_on_first_use=False,
    )
    _configured = True


class _StreamLogger:
    """Writes each rendered event as a line to the configured stream, looked
    up at write time (stderr may be replaced after configuration)."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        out = _settings["out"] or sys.stderr
        out.write(message + "\n")
        out.flush()

    log = debug = info = warning = error = critical = exception = msg


class LazyLogger:
    """A structlog logger created on its first event."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if not _configured:
            _materialise()
        import structlog

        return getattr(structlog.get_logger(self._name), attr)


def get_logger(name: str) -> LazyLogger:
    """The logger for ``name`` (``sentry.mm``, ``sentry.kernel``, ...)."""
    return LazyLogger(name)
