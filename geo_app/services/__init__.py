"""Use cases shared by the CLI and the web views: each takes a session and settings, never a request."""
