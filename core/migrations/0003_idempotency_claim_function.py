"""`core_idempotency_claim`: an Idempotency-Key claimed by one prepared statement (PostgreSQL).

The claim was one simple query of three statements (bound the wait with `SET LOCAL lock_timeout`, insert the record
unless the key is taken, reset the bound), which PostgreSQL parsed and planned again on every money request. The
function does the same in one statement that the connection prepares once: the wait for a concurrent holder of the
key is bounded by `p_lock_timeout` (a `lock_timeout` value such as '10000ms'), the record is inserted unless the key is
taken, the bound is lifted again (the transaction's `lock_timeout` from before the call), and the new record's id is
returned (NULL when the key was taken). A wait that runs out raises `lock_not_available` (55P03) as before.

SQLite (the embedded demo) has no such function: core.idempotency keeps the ORM path there.
"""

from django.db import migrations

from core.sql import postgresql_only

POSTGRESQL_INSTALL = r"""
CREATE FUNCTION core_idempotency_claim(
    p_scope text, p_operation text, p_key text, p_fingerprint text, p_now timestamptz, p_lock_timeout text
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    outer_lock_timeout CONSTANT text := current_setting('lock_timeout');
    claimed bigint;
BEGIN
    PERFORM set_config('lock_timeout', p_lock_timeout, true);
    INSERT INTO core_idempotencyrecord (scope, operation, key, request_fingerprint, response_status, response_body,
                                        created_at)
    VALUES (p_scope, p_operation, p_key, p_fingerprint, NULL, NULL, p_now)
    ON CONFLICT (scope, operation, key) DO NOTHING
    RETURNING id INTO claimed;
    PERFORM set_config('lock_timeout', outer_lock_timeout, true);
    RETURN claimed;
END
$$;
"""

POSTGRESQL_REMOVE = "DROP FUNCTION IF EXISTS core_idempotency_claim(text, text, text, text, timestamptz, text);"


class Migration(migrations.Migration):
    dependencies = [("core", "0002_outbox_message_from_payments")]

    operations = [postgresql_only(install=POSTGRESQL_INSTALL, remove=POSTGRESQL_REMOVE)]
