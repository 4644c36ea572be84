"""HTML pages of payments."""
