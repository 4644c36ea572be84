"""Django's PostgreSQL backend with a connection pool that checks a connection without a round trip when it can."""
