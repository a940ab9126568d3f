"""The ISP and its signatures move to ``hub`` (hub/0007 takes over their tables)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("sharing", "0006_shared_dataset_request_scope"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="signature", name="isp"),
                migrations.RemoveField(model_name="signature", name="agency"),
                migrations.DeleteModel(name="InformationSharingProtocol"),
                migrations.DeleteModel(name="Signature"),
            ],
        ),
    ]
