"""The cutter service (SPEC §12): claims edited events, renders them (§7), stores the videos."""
