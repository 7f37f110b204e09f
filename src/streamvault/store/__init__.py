"""The segment store: names (pure), selection (pure) and disk access (I/O)."""
