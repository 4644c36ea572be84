# The sequential counter of status lists gives way to random slots (0004); each issuer has one open list per purpose.
# Separate from 0004 so the schema change does not run in the transaction that wrote the slot rows.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0004_status_list_random_slots"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="statuslist",
            name="identity_status_list_index_within_size",
        ),
        migrations.RemoveField(
            model_name="statuslist",
            name="next_index",
        ),
        migrations.AddConstraint(
            model_name="statuslist",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_open", True)),
                fields=("issuer_did", "purpose"),
                name="identity_status_list_one_open",
            ),
        ),
    ]
