"""The outbox now belongs to the kernel (core 0002 took over its table); settlement batches point at core's model."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_outbox_message_from_payments"),
        ("payments", "0004_qr_redemption_expired_status"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="settlementbatch",
                    name="outbox_message",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="settlement_batches",
                        to="core.outboxmessage",
                    ),
                ),
                migrations.DeleteModel(name="OutboxMessage"),
            ],
            database_operations=[],
        ),
    ]
