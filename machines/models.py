"""Models of the machines app."""
