"""System call implementations (gVisor ``pkg/sentry/syscalls``)."""
