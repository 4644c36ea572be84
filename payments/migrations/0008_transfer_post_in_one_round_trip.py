"""`payments_transfer_post`: one single-phase or pending transfer, checked and booked in one round trip (PostgreSQL).

The function does what `payments.ledger.services.transfers_create` does for a batch of one such transfer, in the same
order and with the same named result codes (`payments.ledger.engine`): lock both accounts in ascending id order, answer
`exists` (or the first differing field) for a transfer id already stored, then the account checks (found, same ledger,
open, no overflow, the balance flags), then insert the transfer (the `payments_transfer_apply` trigger applies it to the
balances and checks the ledger rules once more) and its expiry row. The checks that need no stored state run in Python
before the call (`engine.check_fields`).

`then` holds statements (complete SQL text, values quoted by the client) that belong to the same booking, for instance
the product's own row: they run after the insert and only when the transfer was booked, and the first column of each
one's first row is returned after the result code, so a product writes its booking in the same round trip.

SQLite (the embedded demo) has no such function: the client keeps the batch path there.
"""

from django.db import migrations

from core.sql import postgresql_only

POSTGRESQL_INSTALL = r"""
CREATE FUNCTION payments_transfer_post(
    p_id uuid, p_debit bigint, p_credit bigint, p_amount bigint, p_ledger text, p_code integer, p_flags integer,
    p_timeout integer, p_user_data text, p_now timestamptz, p_then text[]
) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    max_amount CONSTANT numeric := 9223372036854775807;
    debit payments_account%ROWTYPE;
    credit payments_account%ROWTYPE;
    existing payments_transfer%ROWTYPE;
    expires timestamptz;
    inserted integer;
    statement text;
    answer text;
    answers text[] := ARRAY['ok'];
BEGIN
    PERFORM 1 FROM payments_account WHERE id IN (p_debit, p_credit) ORDER BY id FOR UPDATE;
    SELECT * INTO existing FROM payments_transfer WHERE id = p_id;
    IF FOUND THEN
        RETURN ARRAY[CASE
            WHEN existing.flags <> p_flags THEN 'exists_with_different_flags'
            WHEN existing.pending_id IS NOT NULL THEN 'exists_with_different_pending_id'
            WHEN existing.timeout_seconds IS DISTINCT FROM p_timeout THEN 'exists_with_different_timeout'
            WHEN existing.debit_account_id <> p_debit THEN 'exists_with_different_debit_account_id'
            WHEN existing.credit_account_id <> p_credit THEN 'exists_with_different_credit_account_id'
            WHEN existing.amount <> p_amount THEN 'exists_with_different_amount'
            WHEN existing.user_data <> p_user_data THEN 'exists_with_different_user_data'
            WHEN existing.ledger <> p_ledger THEN 'exists_with_different_ledger'
            WHEN existing.code <> p_code THEN 'exists_with_different_code'
            ELSE 'exists' END];
    END IF;
    SELECT * INTO debit FROM payments_account WHERE id = p_debit;
    IF NOT FOUND THEN RETURN ARRAY['debit_account_not_found']; END IF;
    SELECT * INTO credit FROM payments_account WHERE id = p_credit;
    IF NOT FOUND THEN RETURN ARRAY['credit_account_not_found']; END IF;
    IF debit.ledger <> credit.ledger THEN RETURN ARRAY['accounts_must_have_the_same_ledger']; END IF;
    IF p_ledger <> debit.ledger THEN RETURN ARRAY['ledger_mismatch']; END IF;
    IF debit.is_closed THEN RETURN ARRAY['debit_account_closed']; END IF;
    IF credit.is_closed THEN RETURN ARRAY['credit_account_closed']; END IF;
    IF GREATEST(debit.debits_pending, debit.debits_posted)::numeric + p_amount > max_amount THEN
        RETURN ARRAY['overflows_debits'];
    END IF;
    IF GREATEST(credit.credits_pending, credit.credits_posted)::numeric + p_amount > max_amount THEN
        RETURN ARRAY['overflows_credits'];
    END IF;
    IF debit.debits_must_not_exceed_credits
       AND debit.debits_pending::numeric + debit.debits_posted + p_amount > debit.credits_posted THEN
        RETURN ARRAY['exceeds_credits'];
    END IF;
    IF credit.credits_must_not_exceed_debits
       AND credit.credits_pending::numeric + credit.credits_posted + p_amount > credit.debits_posted THEN
        RETURN ARRAY['exceeds_debits'];
    END IF;
    IF p_timeout IS NOT NULL THEN
        expires := p_now + make_interval(secs => p_timeout);
    END IF;
    -- A concurrent booking of the same id on other accounts took no lock of ours: the key decides, and the loser
    -- answers as a retry would.
    INSERT INTO payments_transfer (id, debit_account_id, credit_account_id, amount, ledger, code, flags, pending_id,
                                   timeout_seconds, expires_at, user_data, created_at)
    VALUES (p_id, p_debit, p_credit, p_amount, p_ledger, p_code, p_flags, NULL, p_timeout, expires, p_user_data,
            p_now)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    IF inserted = 0 THEN
        RETURN payments_transfer_post(p_id, p_debit, p_credit, p_amount, p_ledger, p_code, p_flags, p_timeout,
                                      p_user_data, p_now, p_then);
    END IF;
    IF expires IS NOT NULL THEN
        INSERT INTO payments_pendingtransfertimeout (transfer_id, expires_at) VALUES (p_id, expires);
    END IF;
    FOREACH statement IN ARRAY coalesce(p_then, ARRAY[]::text[]) LOOP
        EXECUTE statement INTO answer;
        answers := answers || answer;
    END LOOP;
    RETURN answers;
END
$$;
"""

POSTGRESQL_REMOVE = (
    "DROP FUNCTION IF EXISTS payments_transfer_post(uuid, bigint, bigint, bigint, text, integer, integer, integer, "
    "text, timestamptz, text[]);"
)


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_checkout_order_wallet_top_up")]

    operations = [postgresql_only(install=POSTGRESQL_INSTALL, remove=POSTGRESQL_REMOVE)]
