"""The ledger's tables, constraints and triggers.

Triggers installed here (PostgreSQL; SQLite gets equivalent row-level triggers for the embedded default):
- payments_transfer_apply: a statement-level AFTER INSERT trigger with a transition table. It refuses rows that break
  the ledger rules (ledgers, closed accounts, post/void against its pending transfer) and adds every inserted transfer
  to both of its accounts in one UPDATE, so the sum of debits equals the sum of credits per ledger by construction.
- payments_transfer_immutable: transfers refuse UPDATE and DELETE.
- payments_account_balance_guard: account sums start at zero and change only from the transfer trigger.
"""

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.lookups
from django.db import migrations, models


POSTGRESQL_INSTALL = r"""
CREATE FUNCTION payments_transfer_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1
        FROM new_transfers n
        JOIN payments_account d ON d.id = n.debit_account_id
        JOIN payments_account c ON c.id = n.credit_account_id
        LEFT JOIN payments_transfer p ON p.id = n.pending_id
        WHERE d.ledger <> n.ledger OR c.ledger <> n.ledger
           OR ((n.flags & 8) = 0 AND (d.is_closed OR c.is_closed))
           OR ((n.flags & 12) <> 0 AND (
                p.id IS NULL OR (p.flags & 2) = 0
                OR p.debit_account_id <> n.debit_account_id OR p.credit_account_id <> n.credit_account_id
                OR p.ledger <> n.ledger
                OR ((n.flags & 4) <> 0 AND n.amount > p.amount)
                OR ((n.flags & 8) <> 0 AND n.amount <> p.amount)))
    ) THEN
        RAISE EXCEPTION 'transfer refused by the ledger rules' USING ERRCODE = 'check_violation';
    END IF;

    WITH legs AS (
        SELECT n.debit_account_id, n.credit_account_id,
               CASE WHEN (n.flags & 2) <> 0 THEN n.amount
                    WHEN (n.flags & 12) <> 0 THEN -p.amount
                    ELSE 0::bigint END AS pending_delta,
               CASE WHEN (n.flags & 10) <> 0 THEN 0::bigint ELSE n.amount END AS posted_delta
        FROM new_transfers n
        LEFT JOIN payments_transfer p ON p.id = n.pending_id
    ), sides AS (
        SELECT debit_account_id AS account_id, pending_delta AS debits_pending, posted_delta AS debits_posted,
               0::bigint AS credits_pending, 0::bigint AS credits_posted
        FROM legs
        UNION ALL
        SELECT credit_account_id, 0::bigint, 0::bigint, pending_delta, posted_delta
        FROM legs
    ), totals AS (
        SELECT account_id, SUM(debits_pending) AS debits_pending, SUM(debits_posted) AS debits_posted,
               SUM(credits_pending) AS credits_pending, SUM(credits_posted) AS credits_posted
        FROM sides GROUP BY account_id
    )
    UPDATE payments_account a
    SET debits_pending = a.debits_pending + t.debits_pending,
        debits_posted = a.debits_posted + t.debits_posted,
        credits_pending = a.credits_pending + t.credits_pending,
        credits_posted = a.credits_posted + t.credits_posted,
        updated_at = statement_timestamp()
    FROM totals t
    WHERE a.id = t.account_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER payments_transfer_apply
AFTER INSERT ON payments_transfer
REFERENCING NEW TABLE AS new_transfers
FOR EACH STATEMENT EXECUTE FUNCTION payments_transfer_apply();

CREATE FUNCTION payments_transfer_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfers are immutable' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER payments_transfer_immutable
BEFORE UPDATE OR DELETE ON payments_transfer
FOR EACH ROW EXECUTE FUNCTION payments_transfer_immutable();

CREATE FUNCTION payments_account_balance_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.debits_pending <> 0 OR NEW.debits_posted <> 0 OR NEW.credits_pending <> 0 OR NEW.credits_posted <> 0 THEN
            RAISE EXCEPTION 'accounts open with zero balances' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF pg_trigger_depth() < 2 AND (NEW.debits_pending, NEW.debits_posted, NEW.credits_pending, NEW.credits_posted)
            IS DISTINCT FROM (OLD.debits_pending, OLD.debits_posted, OLD.credits_pending, OLD.credits_posted) THEN
        RAISE EXCEPTION 'account balances change only through transfers' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER payments_account_balance_guard
BEFORE INSERT OR UPDATE ON payments_account
FOR EACH ROW EXECUTE FUNCTION payments_account_balance_guard();
"""

POSTGRESQL_REMOVE = """
DROP TRIGGER IF EXISTS payments_account_balance_guard ON payments_account;
DROP TRIGGER IF EXISTS payments_transfer_immutable ON payments_transfer;
DROP TRIGGER IF EXISTS payments_transfer_apply ON payments_transfer;
DROP FUNCTION IF EXISTS payments_account_balance_guard();
DROP FUNCTION IF EXISTS payments_transfer_immutable();
DROP FUNCTION IF EXISTS payments_transfer_apply();
"""

_SQLITE_PENDING_DELTA = (
    "CASE WHEN (NEW.flags & 2) <> 0 THEN NEW.amount "
    "WHEN (NEW.flags & 12) <> 0 THEN -(SELECT p.amount FROM payments_transfer p WHERE p.id = NEW.pending_id) "
    "ELSE 0 END"
)
_SQLITE_POSTED_DELTA = "CASE WHEN (NEW.flags & 10) <> 0 THEN 0 ELSE NEW.amount END"

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER payments_transfer_apply AFTER INSERT ON payments_transfer FOR EACH ROW BEGIN
        UPDATE payments_account
        SET debits_pending = debits_pending + {_SQLITE_PENDING_DELTA},
            debits_posted = debits_posted + {_SQLITE_POSTED_DELTA}
        WHERE id = NEW.debit_account_id;
        UPDATE payments_account
        SET credits_pending = credits_pending + {_SQLITE_PENDING_DELTA},
            credits_posted = credits_posted + {_SQLITE_POSTED_DELTA}
        WHERE id = NEW.credit_account_id;
    END
    """,
    """
    CREATE TRIGGER payments_transfer_no_update BEFORE UPDATE ON payments_transfer FOR EACH ROW BEGIN
        SELECT RAISE(ABORT, 'transfers are immutable');
    END
    """,
    """
    CREATE TRIGGER payments_transfer_no_delete BEFORE DELETE ON payments_transfer FOR EACH ROW BEGIN
        SELECT RAISE(ABORT, 'transfers are immutable');
    END
    """,
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS payments_transfer_apply",
    "DROP TRIGGER IF EXISTS payments_transfer_no_update",
    "DROP TRIGGER IF EXISTS payments_transfer_no_delete",
]


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_INSTALL)
    elif vendor == "sqlite":
        for statement in SQLITE_INSTALL:
            schema_editor.execute(statement)
    else:
        raise RuntimeError(f"the ledger needs PostgreSQL or SQLite, not {vendor}")


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRESQL_REMOVE] if vendor == "postgresql" else SQLITE_REMOVE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='Transfer',
            fields=[
                ('id', models.UUIDField(primary_key=True, serialize=False)),
                ('amount', models.BigIntegerField(help_text="Minor units of the ledger's currency; posted amount for a post.")),
                ('ledger', models.CharField(max_length=3)),
                ('code', models.PositiveIntegerField(help_text='Business reason, e.g. 1 = QR purchase.')),
                ('flags', models.PositiveSmallIntegerField(default=0)),
                ('timeout_seconds', models.PositiveIntegerField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('user_data', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(db_index=True)),
            ],
            options={
                'ordering': ('created_at', 'id'),
            },
        ),
        migrations.CreateModel(
            name='Account',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ledger', models.CharField(help_text='ISO 4217 currency code, e.g. EUR.', max_length=3)),
                ('code', models.PositiveSmallIntegerField(choices=[(1, 'Customer prepaid balance'), (2, 'Merchant payable'), (3, 'Clearing'), (4, 'Fees'), (5, 'Revenue'), (6, 'Machine wallet'), (7, 'Charging-station operator'), (8, 'Bank (cash at bank)'), (9, 'Lease receivable'), (10, 'Suspense')])),
                ('owner_reference', models.CharField(blank=True, db_index=True, max_length=64)),
                ('debits_must_not_exceed_credits', models.BooleanField(default=False)),
                ('credits_must_not_exceed_debits', models.BooleanField(default=False)),
                ('is_closed', models.BooleanField(default=False)),
                ('debits_pending', models.BigIntegerField(default=0)),
                ('debits_posted', models.BigIntegerField(default=0)),
                ('credits_pending', models.BigIntegerField(default=0)),
                ('credits_posted', models.BigIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ('id',),
                'constraints': [models.CheckConstraint(condition=models.Q(('debits_pending__gte', 0)), name='account_debits_pending_non_negative'), models.CheckConstraint(condition=models.Q(('debits_posted__gte', 0)), name='account_debits_posted_non_negative'), models.CheckConstraint(condition=models.Q(('credits_pending__gte', 0)), name='account_credits_pending_non_negative'), models.CheckConstraint(condition=models.Q(('credits_posted__gte', 0)), name='account_credits_posted_non_negative'), models.CheckConstraint(condition=models.Q(('debits_must_not_exceed_credits', False), ('debits_pending__lte', django.db.models.expressions.CombinedExpression(models.F('credits_posted'), '-', models.F('debits_posted'))), _connector='OR'), name='account_debits_must_not_exceed_credits'), models.CheckConstraint(condition=models.Q(('credits_must_not_exceed_debits', False), ('credits_pending__lte', django.db.models.expressions.CombinedExpression(models.F('debits_posted'), '-', models.F('credits_posted'))), _connector='OR'), name='account_credits_must_not_exceed_debits'), models.CheckConstraint(condition=models.Q(('credits_must_not_exceed_debits', True), ('debits_must_not_exceed_credits', True), _negated=True), name='account_balance_flags_mutually_exclusive'), models.CheckConstraint(condition=models.Q(('code__in', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), name='account_code_valid'), models.CheckConstraint(condition=models.Q(('ledger', ''), _negated=True), name='account_ledger_not_empty')],
            },
        ),
        migrations.CreateModel(
            name='PendingTransferTimeout',
            fields=[
                ('transfer', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, primary_key=True, related_name='+', serialize=False, to='payments.transfer')),
                ('expires_at', models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.AddField(
            model_name='transfer',
            name='credit_account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_transfers', to='payments.account'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='debit_account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='debit_transfers', to='payments.account'),
        ),
        migrations.AddField(
            model_name='transfer',
            name='pending',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='resolutions', to='payments.transfer'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['debit_account', 'created_at'], name='transfer_debit_account_time'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['credit_account', 'created_at'], name='transfer_credit_account_time'),
        ),
        migrations.AddIndex(
            model_name='transfer',
            index=models.Index(fields=['code', 'created_at'], name='transfer_code_time'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='transfer_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('debit_account', models.F('credit_account')), _negated=True), name='transfer_accounts_different'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('flags__lte', 15)), name='transfer_flags_known'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.In(django.db.models.expressions.CombinedExpression(models.F('flags'), '&', models.Value(14)), [0, 2, 4, 8]), name='transfer_phase_flags_mutually_exclusive'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(django.db.models.lookups.In(django.db.models.expressions.CombinedExpression(models.F('flags'), '&', models.Value(12)), [4, 8]), ('pending__isnull', False)), models.Q(django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(models.F('flags'), '&', models.Value(12)), 0), ('pending__isnull', True)), _connector='OR'), name='transfer_pending_reference_iff_resolution'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('expires_at__isnull', True), ('timeout_seconds__isnull', True)), django.db.models.lookups.Exact(django.db.models.expressions.CombinedExpression(models.F('flags'), '&', models.Value(2)), 2), _connector='OR'), name='transfer_timeout_only_when_pending'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('ledger', ''), _negated=True), name='transfer_ledger_not_empty'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.CheckConstraint(condition=models.Q(('code__gt', 0)), name='transfer_code_positive'),
        ),
        migrations.AddConstraint(
            model_name='transfer',
            constraint=models.UniqueConstraint(condition=models.Q(('pending__isnull', False)), fields=('pending',), name='transfer_pending_resolved_once'),
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
