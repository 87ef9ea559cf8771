"""File system implementations (gVisor ``pkg/sentry/fsimpl``)."""
