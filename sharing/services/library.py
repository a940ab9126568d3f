"""The partnership's document library: documents and their versions, stored encrypted."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from hub.choices import IspTier
from hub.crypto import (
    iter_decrypted,
    master_key_id,
    open_encrypted,
    unwrap_key,
)
from hub.models import Agency, Partnership, User
from hub.services import audit_record
from hub.uploads import EncryptedUpload
from sharing.models import (
    Document,
    DocumentVersion,
)
from sharing.selectors import (
    document_may_upload,
    document_restrict,
)

# Accepted by extension; the content type a download is served with follows from it.
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".csv": "text/csv",
    ".txt": "text/plain",
}
# The first bytes each binary type must start with, so that another kind of file renamed to
# an accepted extension is refused. Office and OpenDocument files are ZIP archives.
_DOCUMENT_SIGNATURES = {
    ".pdf": b"%PDF-",
    ".docx": b"PK\x03\x04",
    ".xlsx": b"PK\x03\x04",
    ".pptx": b"PK\x03\x04",
    ".odt": b"PK\x03\x04",
}


class DocumentRefused(Exception):
    """The library refuses this upload or download; the message says why, to the user."""


def documents_dir() -> Path:
    return Path(settings.HUB_FILES_DIR) / "documents"


def document_content_type(version: DocumentVersion) -> str:
    return DOCUMENT_TYPES.get(Path(version.original_filename).suffix.lower(), "text/plain")


def _document_file_check(upload: EncryptedUpload) -> None:
    suffix = Path(upload.name).suffix.lower()
    if suffix not in DOCUMENT_TYPES:
        raise DocumentRefused(
            f"{upload.name} is not an accepted type: PDF, Word (.docx), Excel (.xlsx), "
            "PowerPoint (.pptx), OpenDocument text (.odt), CSV or plain text (.txt)."
        )
    signature = _DOCUMENT_SIGNATURES.get(suffix)
    if signature is not None:
        with open_encrypted(upload.path, unwrap_key(upload.data_key_wrapped)) as stream:
            start = stream.read(len(signature))
        if start != signature:
            raise DocumentRefused(f"{upload.name} is named {suffix} but is not such a file.")


def _document_refused(
    *,
    acting_user: User,
    upload: EncryptedUpload,
    reason: str,
    document: Document | None,
    ip_address: str | None,
) -> DocumentRefused:
    upload.discard()
    audit_record(
        actor=acting_user,
        action="document_refused",
        target=document,
        detail={"reason": reason, "file": upload.name},
        ip_address=ip_address,
    )
    return DocumentRefused(reason)


def _document_file_keep(*, document: Document, upload: EncryptedUpload) -> Path:
    """Move the upload, still encrypted under its own data key, into the document's folder."""
    destination = documents_dir() / str(document.pk) / f"{uuid.uuid4().hex}.enc"
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(upload.path, destination)
    return destination


def _document_version_create(
    *, document: Document, number: int, path: Path, upload: EncryptedUpload, note: str, user: User
) -> DocumentVersion:
    return DocumentVersion.objects.create(
        document=document,
        number=number,
        note=note,
        file_path=str(path),
        data_key_wrapped=upload.data_key_wrapped,
        master_key_id=master_key_id(),
        original_filename=Path(upload.name).name[:255],
        size=upload.size,
        sha256=upload.sha256,
        uploaded_by=user,
    )


def document_create(
    *,
    acting_user: User,
    partnership: Partnership,
    title: str,
    kind: str,
    marking: str,
    description: str = "",
    audience_agencies: Iterable[Agency] = (),
    audience_tiers: Iterable[str] = (),
    upload: EncryptedUpload,
    ip_address: str | None = None,
) -> Document:
    """Add a document to the partnership's library with its first version; audited.

    Refuses (DocumentRefused, audited, the upload discarded) a user who may not upload to this
    partnership, a document with no audience, an audience agency of another partnership, and
    a file that is not one of the accepted types.
    """
    audience_agencies = list(audience_agencies)
    audience_tiers = sorted(set(audience_tiers))
    document = Document(
        partnership=partnership,
        title=title,
        kind=kind,
        marking=marking,
        description=description,
        audience_tiers=audience_tiers,
        created_by=acting_user,
    )
    try:
        if not document_may_upload(user=acting_user, partnership=partnership):
            raise DocumentRefused(
                "Only the co-ordinator and analysts at core-tier agencies add documents."
            )
        if not audience_agencies and not audience_tiers:
            raise DocumentRefused("Choose who may read it: agencies, tiers, or both.")
        if any(agency.partnership_id != partnership.pk for agency in audience_agencies):
            raise DocumentRefused("Every audience agency must be a partner of this partnership.")
        if set(audience_tiers) - {IspTier.CORE, IspTier.ASSOCIATE}:
            raise DocumentRefused("The audience tiers are core and associate.")
        _document_file_check(upload)
    except DocumentRefused as refusal:
        # Outside any transaction of the caller's, so that the refusal stays on record.
        raise _document_refused(
            acting_user=acting_user,
            upload=upload,
            reason=str(refusal),
            document=None,
            ip_address=ip_address,
        ) from refusal
    path = _document_file_keep(document=document, upload=upload)
    try:
        with transaction.atomic():
            document.save()
            document.audience_agencies.set(audience_agencies)
            version = _document_version_create(
                document=document, number=1, path=path, upload=upload, note="", user=acting_user
            )
            audit_record(
                actor=acting_user,
                action="document_created",
                target=document,
                detail={
                    "title": title,
                    "kind": kind,
                    "marking": marking,
                    "audience_agencies": [agency.name for agency in audience_agencies],
                    "audience_tiers": audience_tiers,
                    "version": version.number,
                    "file": version.original_filename,
                    "bytes": version.size,
                    "sha256": version.sha256,
                },
                ip_address=ip_address,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return document


def document_add_version(
    *,
    acting_user: User,
    document: Document,
    upload: EncryptedUpload,
    note: str = "",
    ip_address: str | None = None,
) -> DocumentVersion:
    """Add the next version of a document (numbered one above the highest so far), which
    becomes the current one; earlier versions stay. Audited; refused (DocumentRefused,
    audited, the upload discarded) for a user who may not upload or may not see the document,
    and for a file that is not one of the accepted types."""
    try:
        may_upload = document_may_upload(user=acting_user, partnership=document.partnership)
        if not may_upload or not document_restrict(user=acting_user).filter(pk=document.pk):
            raise DocumentRefused(
                "Only the co-ordinator and analysts at core-tier agencies in its audience add "
                "versions of a document."
            )
        _document_file_check(upload)
    except DocumentRefused as refusal:
        raise _document_refused(
            acting_user=acting_user,
            upload=upload,
            reason=str(refusal),
            document=document,
            ip_address=ip_address,
        ) from refusal
    path = _document_file_keep(document=document, upload=upload)
    try:
        with transaction.atomic():
            # The row lock makes two uploads at once take consecutive numbers.
            Document.objects.select_for_update().filter(pk=document.pk).get()
            highest = document.versions.aggregate(highest=Max("number"))["highest"] or 0
            version = _document_version_create(
                document=document,
                number=highest + 1,
                path=path,
                upload=upload,
                note=note,
                user=acting_user,
            )
            audit_record(
                actor=acting_user,
                action="document_version_added",
                target=document,
                detail={
                    "version": version.number,
                    "file": version.original_filename,
                    "bytes": version.size,
                    "sha256": version.sha256,
                    "note": note,
                },
                ip_address=ip_address,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return version


def document_download(
    *, acting_user: User, version: DocumentVersion, ip_address: str | None = None
) -> Iterator[bytes]:
    """The version's plaintext as a stream of blocks; audited. DocumentRefused if the user
    may not see the document."""
    document = version.document
    if not document_restrict(user=acting_user).filter(pk=document.pk).exists():
        raise DocumentRefused("No such document.")
    audit_record(
        actor=acting_user,
        action="document_downloaded",
        target=document,
        detail={
            "title": document.title,
            "version": version.number,
            "marking": document.marking,
            "file": version.original_filename,
            "sha256": version.sha256,
        },
        ip_address=ip_address,
    )
    return iter_decrypted(Path(version.file_path), unwrap_key(bytes(version.data_key_wrapped)))
