"""``streamvault demo``: the simulator, two faulty nodes, and the backfill healing them."""
