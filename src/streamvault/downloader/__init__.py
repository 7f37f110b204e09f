"""The downloader: watches channels and stores every segment they publish (SPEC §6)."""
