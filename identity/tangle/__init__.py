"""Anchoring Merkle roots on the IOTA Tangle: the Anchor interface, the iota-sdk backend and a local dev node."""
