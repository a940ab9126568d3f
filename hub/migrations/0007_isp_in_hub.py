"""The ISP and its signatures belong to the hub, the ground floor every app stands on: the
models move from ``sharing`` keeping their rows (the tables are renamed, never recreated),
and so do their content types, with the permissions and admin history that point at them."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("informationsharingprotocol", "signature")


def content_types_move(from_app, to_app):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        ContentType.objects.filter(app_label=from_app, model__in=MOVED).update(app_label=to_app)

    return move


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("hub", "0006_audit_entry_protect"),
        ("sharing", "0007_isp_in_hub"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='InformationSharingProtocol',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('version', models.CharField(max_length=20)),
                        ('adopted_on', models.DateField(help_text='Date the responsible authorities adopted it.')),
                        ('review_due', models.DateField(help_text='Signatures lapse if it is not reviewed by then.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('partnership', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='isps', to='hub.partnership')),
                    ],
                    options={
                        'verbose_name': 'information sharing protocol',
                        'db_table': 'sharing_informationsharingprotocol',
                        'ordering': ['partnership', '-adopted_on'],
                    },
                ),
                migrations.CreateModel(
                    name='Signature',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('tier', models.CharField(choices=[('core', 'Core (central role)'), ('associate', 'Associate (occasional, depersonalised only)')], max_length=20)),
                        ('signed_on', models.DateField()),
                        ('signatory_name', models.CharField(max_length=200)),
                        ('withdrawn_on', models.DateField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('agency', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to='hub.agency')),
                        ('isp', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signatures', to='hub.informationsharingprotocol')),
                    ],
                    options={
                        'ordering': ['isp', 'agency__name'],
                        'db_table': 'sharing_signature',
                    },
                ),
                migrations.AddConstraint(
                    model_name='informationsharingprotocol',
                    constraint=models.UniqueConstraint(fields=('partnership', 'version'), name='isp_unique_version'),
                ),
                migrations.AddConstraint(
                    model_name='signature',
                    constraint=models.UniqueConstraint(fields=('isp', 'agency'), name='signature_unique_agency'),
                ),
            ],
        ),
        migrations.AlterModelTable(name="informationsharingprotocol", table=None),
        migrations.AlterModelTable(name="signature", table=None),
        migrations.RunPython(
            content_types_move("sharing", "hub"), content_types_move("hub", "sharing")
        ),
    ]
