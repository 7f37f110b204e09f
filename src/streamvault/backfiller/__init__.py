"""The backfiller: copies the segments this node lacks from its peers (SPEC §8)."""
