"""Models of the identity app."""
