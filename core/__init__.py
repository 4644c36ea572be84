"""The shared kernel below every app: pieces each app needs in exactly one form (idempotency, field encryption)."""
