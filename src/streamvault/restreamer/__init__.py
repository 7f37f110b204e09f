"""The restreamer: an HTTP API over the segment store (SPEC §5).

``create_app`` in :mod:`.app` builds the aiohttp application; ``streamvault restream`` runs it.
"""
