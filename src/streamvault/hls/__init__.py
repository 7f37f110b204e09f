"""Generic HLS (RFC 8216): models, a table-driven parser for master and media playlists,
``CODECS`` strings (pure). Dialects such as Twitch's live in ``streamvault.sources``."""
