"""The outbox moves from payments into the kernel: the table and its rows are kept (renamed to core_outboxmessage), so
messages written before the move are still relayed and settlement batches keep pointing at theirs."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_idempotency_record"),
        ("payments", "0004_qr_redemption_expired_status"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("topic", models.CharField(max_length=100)),
                        ("key", models.CharField(max_length=200)),
                        ("payload", models.JSONField(blank=True, default=dict)),
                        (
                            "state",
                            models.CharField(
                                choices=[("pending", "Pending"), ("enqueued", "Enqueued"), ("done", "Done")],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        (
                            "attempts",
                            models.PositiveIntegerField(
                                default=0, help_text="How many times the message was handed to the broker."
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "enqueued_at",
                            models.DateTimeField(
                                blank=True, help_text="Last time the message was handed over.", null=True
                            ),
                        ),
                        ("done_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "ordering": ["id"],
                        "db_table": "payments_outboxmessage",
                        "indexes": [
                            models.Index(
                                condition=models.Q(("state", "done"), _negated=True),
                                fields=["state", "created_at"],
                                name="payments_outbox_backlog",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(fields=("topic", "key"), name="payments_outbox_topic_key_unique"),
                            models.CheckConstraint(
                                condition=models.Q(("state__in", ["pending", "enqueued", "done"])),
                                name="payments_outbox_state_valid",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("state", "done"), _negated=True),
                                    ("done_at__isnull", False),
                                    _connector="OR",
                                ),
                                name="payments_outbox_done_has_time",
                            ),
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("state", "enqueued"), _negated=True),
                                    models.Q(("attempts__gte", 1), ("enqueued_at__isnull", False)),
                                    _connector="OR",
                                ),
                                name="payments_outbox_enqueued_has_time",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="outboxmessage", table=None),
        migrations.RemoveIndex(model_name="outboxmessage", name="payments_outbox_backlog"),
        migrations.RemoveConstraint(model_name="outboxmessage", name="payments_outbox_topic_key_unique"),
        migrations.RemoveConstraint(model_name="outboxmessage", name="payments_outbox_state_valid"),
        migrations.RemoveConstraint(model_name="outboxmessage", name="payments_outbox_done_has_time"),
        migrations.RemoveConstraint(model_name="outboxmessage", name="payments_outbox_enqueued_has_time"),
        migrations.AddField(
            model_name="outboxmessage",
            name="last_error",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="state",
            field=models.CharField(
                choices=[("pending", "Pending"), ("enqueued", "Enqueued"), ("done", "Done"), ("dead", "Dead")],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(fields=("topic", "key"), name="core_outbox_topic_key_unique"),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(("state__in", ["pending", "enqueued", "done", "dead"])),
                name="core_outbox_state_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state", "done"), _negated=True), ("done_at__isnull", False), _connector="OR"
                ),
                name="core_outbox_done_has_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("state__in", ["enqueued", "dead"]), _negated=True),
                    models.Q(("attempts__gte", 1), ("enqueued_at__isnull", False)),
                    _connector="OR",
                ),
                name="core_outbox_enqueued_has_time",
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("state__in", ["pending", "enqueued"])),
                fields=["state", "created_at"],
                name="core_outbox_backlog",
            ),
        ),
    ]
