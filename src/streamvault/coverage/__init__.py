"""Coverage: holes, overlaps and segment types per hour, coverage maps and metrics (SPEC §9)."""
