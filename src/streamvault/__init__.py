"""streamvault: a redundant archive for live streams."""

__version__ = "0.1.0"
