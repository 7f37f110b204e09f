"""The chat archive (SPEC §14): an IRC client that records Twitch chat in 60 s batches, the
merge of several nodes' batches, and the files it writes under ``BASE/CHANNEL/chat/``."""
