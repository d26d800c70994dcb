"""Page objects: every selector and every portal quirk lives here, never in a bot module."""
