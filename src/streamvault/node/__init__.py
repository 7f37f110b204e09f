"""Every component in one process: ``streamvault node`` (SPEC §11)."""
