"""Where media playlists come from: Twitch (token, usher, variant choice) or a plain URL."""
