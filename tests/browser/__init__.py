"""Real-browser tests (a package, so that its package-scoped fixtures end with it)."""
