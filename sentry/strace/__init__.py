"""``--strace``: syscalls printed in strace's own format (gVisor ``pkg/sentry/strace``)."""

from sentry.strace.tracer import StraceTracer

__all__ = ["StraceTracer"]
