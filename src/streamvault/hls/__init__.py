"""Generic HLS: models, a parser for master and media playlists, and ad detection (pure)."""
