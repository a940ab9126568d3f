"""The document library: who sees which document, who may add one, versions, encryption at
rest and audited downloads."""

from __future__ import annotations

import datetime
import io
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hub.models import Agency, AuditEntry, InformationSharingProtocol
from hub.uploads import encrypted_upload
from sharing.models import Document, DocumentVersion
from sharing.services.library import DocumentRefused, document_add_version, document_create
from tests.conftest import sign_in
from tests.hub.test_idor import body as page_body

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n% a strategic assessment: burglary in WN1 rose by a third\n%%EOF\n"
POLICE = "Greater Manchester Police (Wigan)"
BUSINESS = "Wigan Town Centre Business Crime Partnership"
WITHDRAWN = "Leigh Neighbourhood Watch"

# The audience of each document of the `library` fixture: tiers, and agencies by name.
AUDIENCES = {
    "Core assessment": (["core"], []),
    "Associate briefing": (["associate"], []),
    "Business profile": ([], [BUSINESS]),
    "Police profile": ([], [POLICE]),
    "Neighbourhood Watch note": ([], [WITHDRAWN]),
}
# Who sees which document. Written out, not computed: this is the policy.
SEES = {
    "coordinator": set(AUDIENCES),
    "analyst": {"Core assessment"},
    "council_supplier": {"Core assessment"},
    "health_supplier": {"Core assessment"},
    "police_supplier": {"Core assessment", "Police profile"},
    "dlo_police": {"Core assessment", "Police profile"},
    "associate_analyst": {"Associate briefing", "Business profile"},
    "lapsed_analyst": set(),
    "outsider": set(),
}
UPLOADERS = {"coordinator", "analyst"}


def make_document(owner, title, *, tiers=(), agencies=(), content=PDF, name="doc.pdf"):
    return document_create(
        acting_user=owner,
        partnership=Agency.objects.get(name=POLICE).partnership,
        title=title,
        kind="problem_profile",
        marking="official_sensitive",
        audience_tiers=list(tiers),
        audience_agencies=[Agency.objects.get(name=agency) for agency in agencies],
        upload=encrypted_upload(name=name, data=content),
    )


@pytest.fixture
def library(personas):
    return {
        title: make_document(personas["coordinator"], title, tiers=tiers, agencies=agencies)
        for title, (tiers, agencies) in AUDIENCES.items()
    }


def a_file(name="assessment.pdf", content=PDF):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def post_document(client, user, *, name="assessment.pdf", content=PDF, **extra):
    sign_in(client, user)
    data = {
        "title": "Strategic assessment 2026",
        "kind": "strategic_assessment",
        "marking": "official_sensitive",
        "description": "The partnership's annual assessment.",
        "audience_tiers": ["core"],
        "file": a_file(name, content),
        **extra,
    }
    return client.post("/documents/", data)


def stored_files(folder: str) -> set[Path]:
    path = Path(settings.HUB_FILES_DIR) / folder
    return set(path.rglob("*.enc")) if path.exists() else set()


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# -- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", sorted(SEES))
def test_each_persona_sees_exactly_the_documents_addressed_to_them(
    client, library, personas, persona
):
    sign_in(client, personas[persona])
    listing = client.get("/documents/")
    assert listing.status_code == 200
    page = listing.content.decode()

    for title, document in library.items():
        visible = title in SEES[persona]
        assert (title in page) is visible, title
        expected = 200 if visible else 404
        assert client.get(f"/documents/{document.pk}/").status_code == expected, title
        assert client.get(f"/documents/{document.pk}/download").status_code == expected, title
        version_url = f"/documents/{document.pk}/versions/1/download"
        assert client.get(version_url).status_code == expected, title


def test_a_missing_and_a_forbidden_document_are_the_same_404(client, library, personas):
    sign_in(client, personas["associate_analyst"])
    forbidden = client.get(f"/documents/{library['Core assessment'].pk}/")
    missing = client.get(f"/documents/{uuid.uuid4()}/")
    malformed = client.get("/documents/not-a-document/")

    assert forbidden.status_code == missing.status_code == malformed.status_code == 404
    assert page_body(forbidden) == page_body(missing)  # the CSRF token of the page aside


def test_a_missing_version_is_a_404(client, library, personas):
    sign_in(client, personas["coordinator"])
    document = library["Core assessment"]
    assert client.get(f"/documents/{document.pk}/versions/2/download").status_code == 404
    assert client.get(f"/documents/{document.pk}/versions/0/download").status_code == 404


def test_signatures_lapsing_at_review_take_the_documents_away(client, library, personas):
    isp = InformationSharingProtocol.objects.get()
    isp.review_due = timezone.localdate() - datetime.timedelta(days=1)
    isp.save()
    sign_in(client, personas["analyst"])

    assert "Core assessment" not in client.get("/documents/").content.decode()
    assert client.get(f"/documents/{library['Core assessment'].pk}/").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, library):
    response = client.get(f"/documents/{library['Core assessment'].pk}/download")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_list_costs_the_same_queries_for_one_document_or_many(client, personas):
    sign_in(client, personas["associate_analyst"])
    make_document(personas["coordinator"], "First", tiers=["associate"])
    with CaptureQueriesContext(connection) as one:
        client.get("/documents/")
    for number in range(5):
        make_document(personas["coordinator"], f"More {number}", tiers=["associate"])
    with CaptureQueriesContext(connection) as six:
        page = client.get("/documents/").content.decode()

    assert "More 4" in page
    assert len(six.captured_queries) == len(one.captured_queries)


# -- adding documents -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", sorted(UPLOADERS))
def test_the_coordinator_and_a_core_analyst_add_a_document(client, personas, persona):
    before = stored_files("raw")
    response = post_document(client, personas[persona], audience_agencies=[])

    document = Document.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/documents/{document.pk}/"
    assert document.marking == "official_sensitive" and document.audience_tiers == ["core"]
    version = document.versions.get()
    assert version.number == 1 and version.original_filename == "assessment.pdf"
    assert version.size == len(PDF) and version.uploaded_by == personas[persona]
    assert stored_files("raw") == before  # moved out of the upload folder, not copied
    entry = AuditEntry.objects.get(action="document_created")
    assert entry.actor == personas[persona] and entry.object_id == str(document.pk)
    assert entry.detail["sha256"] == version.sha256


def test_the_stored_file_is_encrypted_under_the_documents_folder(client, personas):
    post_document(client, personas["coordinator"])

    version = DocumentVersion.objects.get()
    path = Path(version.file_path)
    assert path.is_relative_to(Path(settings.HUB_FILES_DIR) / "documents")
    stored = path.read_bytes()
    assert b"burglary" not in stored and b"%PDF" not in stored
    assert path.stat().st_mode & 0o077 == 0  # readable by the hub's own user only


@pytest.mark.parametrize("persona", sorted(set(SEES) - UPLOADERS))
def test_anyone_else_is_refused_and_nothing_is_kept(client, personas, persona):
    before = stored_files("raw") | stored_files("documents")
    response = post_document(client, personas[persona])

    assert response.status_code == 403
    assert not Document.objects.exists()
    assert stored_files("raw") | stored_files("documents") == before


def test_the_upload_form_is_shown_to_uploaders_only(client, personas):
    sign_in(client, personas["analyst"])
    assert 'name="file"' in client.get("/documents/").content.decode()
    sign_in(client, personas["associate_analyst"])
    assert 'name="file"' not in client.get("/documents/").content.decode()


def test_the_service_refuses_a_non_uploader_and_records_it(personas):
    upload = encrypted_upload(name="profile.pdf", data=PDF)
    with pytest.raises(DocumentRefused, match="Only the co-ordinator and analysts"):
        document_create(
            acting_user=personas["associate_analyst"],
            partnership=Agency.objects.get(name=POLICE).partnership,
            title="Not mine to publish",
            kind="other",
            marking="official",
            audience_tiers=["associate"],
            upload=upload,
        )
    assert not upload.path.exists()
    refusal = AuditEntry.objects.get(action="document_refused")
    assert refusal.actor == personas["associate_analyst"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("payload.exe", b"MZ\x90\x00", "is not an accepted type"),
        ("page.html", b"<html></html>", "is not an accepted type"),
        ("renamed.pdf", b"<html><script>alert(1)</script></html>", "is named .pdf but is not"),
        ("renamed.docx", b"plain text", "is named .docx but is not"),
    ],
)
def test_a_file_of_another_type_is_refused_and_recorded(client, personas, name, content, message):
    before = stored_files("raw") | stored_files("documents")
    response = post_document(client, personas["coordinator"], name=name, content=content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files("raw") | stored_files("documents") == before
    assert AuditEntry.objects.get(action="document_refused").detail["file"] == name


@pytest.mark.parametrize("name", ["notes.txt", "figures.csv", "profile.PDF"])
def test_text_csv_and_upper_case_extensions_are_accepted(client, personas, name):
    content = PDF if name.endswith("PDF") else b"ward,count\nWN1,12\n"
    assert (
        post_document(client, personas["coordinator"], name=name, content=content).status_code
        == 302
    )


def test_a_document_needs_an_audience(client, personas):
    before = stored_files("raw")
    response = post_document(client, personas["coordinator"], audience_tiers=[])

    assert response.status_code == 200
    assert "Choose who may read it" in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files("raw") == before


def test_a_file_over_the_limit_is_refused_with_the_limit(client, personas, settings):
    settings.HUB_MAX_UPLOAD_BYTES = 1024 * 1024
    before = stored_files("raw")
    response = post_document(client, personas["coordinator"], content=PDF + b"x" * 2 * 1024 * 1024)

    assert response.status_code == 200
    assert "larger than the 1 MB limit" in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files("raw") == before


def test_only_current_signatories_are_offered_as_audience_agencies(client, personas):
    sign_in(client, personas["coordinator"])
    page = client.get("/documents/").content.decode()
    assert POLICE in page and BUSINESS in page
    assert WITHDRAWN not in page
    assert "Environment Agency (North West)" not in page  # has not signed


def test_user_text_is_escaped(client, personas):
    make_document(personas["coordinator"], "<script>alert(1)</script>", tiers=["core"])
    sign_in(client, personas["analyst"])
    page = client.get("/documents/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- versions and downloads -------------------------------------------------------------------


def test_versions_count_up_and_the_latest_is_served_by_default(client, library, personas):
    document = library["Core assessment"]
    sign_in(client, personas["analyst"])
    second = PDF + b"% version two\n"

    response = client.post(
        f"/documents/{document.pk}/",
        {"file": a_file("assessment-v2.pdf", second), "note": "Added Q3 figures"},
    )

    assert response.status_code == 302
    assert list(document.versions.values_list("number", flat=True)) == [2, 1]
    assert body(client.get(f"/documents/{document.pk}/download")) == second
    assert body(client.get(f"/documents/{document.pk}/versions/1/download")) == PDF
    assert body(client.get(f"/documents/{document.pk}/versions/2/download")) == second
    page = client.get(f"/documents/{document.pk}/").content.decode()
    assert "v2 (current)" in page and "Added Q3 figures" in page
    entry = AuditEntry.objects.get(action="document_version_added")
    assert entry.actor == personas["analyst"] and entry.detail["version"] == 2


def test_each_new_version_takes_the_next_number(library, personas):
    document = library["Core assessment"]
    for _ in range(3):
        document_add_version(
            acting_user=personas["coordinator"],
            document=document,
            upload=encrypted_upload(name="next.pdf", data=PDF),
        )
    assert sorted(document.versions.values_list("number", flat=True)) == [1, 2, 3, 4]


@pytest.mark.parametrize("persona", ["associate_analyst", "police_supplier", "dlo_police"])
def test_readers_who_may_not_upload_cannot_add_a_version(client, library, personas, persona):
    document = library[
        "Core assessment" if persona != "associate_analyst" else "Associate briefing"
    ]
    sign_in(client, personas[persona])
    before = stored_files("raw") | stored_files("documents")

    page = client.get(f"/documents/{document.pk}/").content.decode()
    response = client.post(f"/documents/{document.pk}/", {"file": a_file(), "note": "mine"})

    assert 'name="file"' not in page
    assert response.status_code == 403
    assert document.versions.count() == 1
    assert stored_files("raw") | stored_files("documents") == before


def test_a_core_analyst_cannot_add_a_version_of_a_document_they_cannot_see(library, personas):
    upload = encrypted_upload(name="x.pdf", data=PDF)
    with pytest.raises(DocumentRefused):
        document_add_version(
            acting_user=personas["analyst"], document=library["Police profile"], upload=upload
        )
    assert not upload.path.exists()
    assert AuditEntry.objects.filter(action="document_refused").count() == 1


def test_a_download_is_an_attachment_never_cached_and_audited(client, library, personas):
    document = library["Police profile"]
    sign_in(client, personas["dlo_police"])

    response = client.get(f"/documents/{document.pk}/download")

    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="doc.pdf"'
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="document_downloaded")
    assert entry.actor == personas["dlo_police"]
    assert entry.object_id == str(document.pk)
    assert entry.detail["version"] == 1 and entry.detail["marking"] == "official_sensitive"


def test_a_refused_download_is_not_recorded_as_a_download(client, library, personas):
    sign_in(client, personas["outsider"])
    assert client.get(f"/documents/{library['Core assessment'].pk}/download").status_code == 404
    assert not AuditEntry.objects.filter(action="document_downloaded").exists()


def test_a_crafted_file_name_cannot_break_the_header(client, personas):
    document = make_document(
        personas["coordinator"], "Quoted", tiers=["core"], name='report "final"\\x.pdf'
    )
    sign_in(client, personas["coordinator"])
    response = client.get(f"/documents/{document.pk}/download")
    assert response["Content-Disposition"] == 'attachment; filename="report \\"final\\"\\\\x.pdf"'


def test_the_page_shows_the_marking_and_the_audience(client, library, personas):
    sign_in(client, personas["coordinator"])
    page = client.get(f"/documents/{library['Business profile'].pk}/").content.decode()
    assert 'id="marking">OFFICIAL-SENSITIVE<' in page
    assert BUSINESS in page
