"""Discovery: which kinds to sync, and listing them in the source and DR namespaces (design §4.1)."""
