pytest_plugins = ["sentry.testing.plugin"]
