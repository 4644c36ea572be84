"""Charging settlement is queued through the kernel's outbox now, and machines' own sweep of ended sessions is gone:
sessions that ended before this change and are not settled yet get their outbox message here, so the outbox sweep
settles them."""

from django.db import migrations
from django.utils import timezone


def ended_sessions_queue(apps, schema_editor):
    ChargingSession = apps.get_model("machines", "ChargingSession")
    OutboxMessage = apps.get_model("core", "OutboxMessage")
    now = timezone.now()
    ended = ChargingSession.objects.filter(status="ended").values_list("pk", flat=True)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                topic="machines.charging_session_settle",
                key=f"charging_session:{session_id}",
                payload={"session_id": session_id},
                state="pending",
                created_at=now,
            )
            for session_id in ended.iterator()
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_outbox_message_from_payments"),
        ("machines", "0003_session_tariff_required"),
    ]

    operations = [migrations.RunPython(ended_sessions_queue, migrations.RunPython.noop)]
