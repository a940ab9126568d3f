"""Objects owned by one persona or agency, for the permission matrix and the IDOR tests.

Each carries a ``marker`` in its identifying strings (file names, titles, references), so that
a test can check that a refused request gives none of it away.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from datasets.choices import SupplyStatus
from datasets.models import Dataset, Supply
from datasets.rejected_rows import rejected_rows_path
from hub.crypto import new_data_key, wrap_key, write_encrypted
from hub.models import Agency, Partnership, User
from hub.services import agency_ensure, membership_grant, partnership_ensure
from hub.uploads import encrypted_upload
from sharing.choices import ExtractStatus
from sharing.models import Document, Extract, FoiRequest, PersonalDataRequest, SavedQuery
from sharing.services.foi import foi_record
from sharing.services.isp import isp_ensure, signature_record
from sharing.services.library import document_create
from sharing.services.requests import request_create
from sharing.workspace.saved import saved_query_create
from tests.conftest import sign_in, supply_row

POLICE = "Greater Manchester Police (Wigan)"
COUNCIL = "Wigan Council"
LAST_MONTH = (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


def named_file(name: str, content: bytes) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def login(client, user: User) -> None:
    """Sign ``user`` in on ``client``, with a second factor where they need one: the one place
    every test of these modules signs in."""
    sign_in(client, user)


def agency(name: str) -> Agency:
    return Agency.objects.get(name=name)


def supply(
    *, agency: Agency, user: User, dataset: str, marker: str, status=SupplyStatus.COMPLETED
) -> Supply:
    """A processed supply of the agency's with its rejected rows kept (encrypted) on disk."""
    data_key = new_data_key()
    made = supply_row(
        dataset=Dataset.objects.get(slug=dataset),
        agency=agency,
        uploaded_by=user,
        period_start=LAST_MONTH[0],
        period_end=LAST_MONTH[1],
        supplier_name=f"Supplier {marker}",
        supplier_contact=f"{marker}@example.invalid",
        original_filename=f"{marker}.csv",
        caveats=f"Caveat {marker}",
        data_key_wrapped=wrap_key(data_key),
        status=status,
        report={"failed_stage": SupplyStatus.LOADING} if status == SupplyStatus.FAILED else {},
    )
    path = rejected_rows_path(made)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_encrypted(path, f"row,field,reason,value\n2,postcode,bad,{marker}\n".encode(), data_key)
    return made


def extract(*, user: User, agency: Agency, marker: str) -> Extract:
    """A finished extract of the user's, its file encrypted on disk."""
    data_key = new_data_key()
    made = Extract.objects.create(
        created_by=user,
        agency=agency,
        dataset=Dataset.objects.get(slug="police_crime_offence"),
        level="aggregate",
        file_format="csv",
        period_start=LAST_MONTH[0],
        period_end=LAST_MONTH[1],
        status=ExtractStatus.COMPLETED,
        file_name=f"{marker}.zip",
        data_key_wrapped=wrap_key(data_key),
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    path = Path(settings.HUB_FILES_DIR) / "extracts" / f"{made.pk}.enc"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_encrypted(path, f"PK {marker}".encode(), data_key)
    Extract.objects.filter(pk=made.pk).update(file_path=str(path))
    made.refresh_from_db()
    return made


def document(*, owner: User, partnership: Partnership, marker: str, **audience) -> Document:
    """A document of the partnership's library, addressed to ``audience`` (tiers, agencies)."""
    return document_create(
        acting_user=owner,
        partnership=partnership,
        title=f"Profile {marker}",
        kind="problem_profile",
        marking="official_sensitive",
        description=f"About {marker}",
        audience_tiers=audience.get("tiers", []),
        audience_agencies=audience.get("agencies", []),
        upload=encrypted_upload(name=f"{marker}.pdf", data=f"%PDF-1.7 {marker}".encode()),
    )


def data_request(*, analyst: User, supplying_agency: Agency, marker: str) -> PersonalDataRequest:
    """The analyst's pending request for the police's prolific offenders' personal data."""
    return request_create(
        requester=analyst,
        dataset=Dataset.objects.get(slug="ppo"),
        supplying_agency=supplying_agency,
        purpose=f"Purpose {marker}",
        legal_basis="cda_s115",
        legal_basis_detail="",
        records_needed=f"Records {marker}",
        period_start=LAST_MONTH[0],
        period_end=LAST_MONTH[1],
        days_needed=30,
    )


def foi(*, coordinator: User, originating_agency: Agency, marker: str) -> FoiRequest:
    return foi_record(
        acting_user=coordinator,
        reference=f"FOI-{marker}",
        received_on=timezone.localdate() - datetime.timedelta(days=3),
        requester=f"Requester {marker}",
        request_text=f"Request {marker}",
        originating_agency=originating_agency,
    )


def saved_query(*, owner: User, marker: str, shared: bool) -> SavedQuery:
    params = QueryDict(mutable=True)
    params["dataset"] = "police_crime_offence"
    return saved_query_create(
        owner=owner, name=f"Query {marker}", view="counts", params=params, months=1, shared=shared
    )


def member(*, username: str, agency: Agency, roles: list[str]) -> User:
    user = User.objects.create_user(username, email=f"{username}@example.invalid")
    membership_grant(user=user, agency=agency, roles=roles, acting_user=None, system="test")
    return user


def other_partnership() -> dict:
    """A second partnership, signed up, with a co-ordinator, a police supplier and its DLO:
    nothing of either partnership may be seen from the other."""
    partnership = partnership_ensure(
        name="Elsewhere Community Safety Partnership", slug="elsewhere", postcode_areas=["BL"]
    )
    isp = isp_ensure(
        partnership=partnership,
        version="1",
        adopted_on=datetime.date(2026, 1, 1),
        review_due=datetime.date(2099, 1, 1),
        acting_user=None,
        system="test",
    )
    police = agency_ensure(
        partnership=partnership, name="Elsewhere Police", agency_type="police_force",
        acting_user=None, system="test",
    )  # fmt: skip
    signature_record(
        isp=isp, agency=police, tier="core", signed_on=isp.adopted_on,
        signatory_name="Chief Constable", acting_user=None, system="test",
    )  # fmt: skip
    return {
        "partnership": partnership,
        "police": police,
        "coordinator": member(username="else_coordinator", agency=police, roles=["coordinator"]),
        "supplier": member(username="else_supplier", agency=police, roles=["supplier"]),
        "dlo": member(username="else_dlo", agency=police, roles=["dlo"]),
    }
