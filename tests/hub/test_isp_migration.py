"""The ISP and its signatures moved from ``sharing`` to ``hub`` keeping their rows: a
partnership's standing is the same after the move as before it."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hub.access import agency_standing
from hub.models import Agency, InformationSharingProtocol, Signature


@pytest.mark.django_db(transaction=True)
def test_signatures_and_standing_survive_the_move_to_hub(personas):
    before = {agency.name: agency_standing(agency=agency) for agency in Agency.objects.all()}
    signatures = Signature.objects.count()
    assert signatures and any(standing.tier != "none" for standing in before.values())
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("hub", "0006_audit_entry_protect")])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sharing_signature")
            assert cursor.fetchone()[0] == signatures, "moving back keeps the rows too"
        executor.loader.build_graph()
        executor.migrate(latest)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert Signature._meta.db_table == "hub_signature"
    assert Signature.objects.count() == signatures
    assert InformationSharingProtocol.objects.exists()
    after = {agency.name: agency_standing(agency=agency) for agency in Agency.objects.all()}
    assert {name: s.tier for name, s in after.items()} == {n: s.tier for n, s in before.items()}
    assert ContentType.objects.get_for_model(Signature).app_label == "hub"
    assert not ContentType.objects.filter(app_label="sharing", model="signature").exists()
