"""Settlement of pending transfers in batches, driven by a transactional outbox and Celery."""
