"""Uploads are encrypted as they arrive: no raw file ever touches the disk in clear."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from hub.crypto import EncryptingWriter, new_data_key, wrap_key


def upload_dir() -> Path:
    return Path(settings.HUB_FILES_DIR) / "raw"


class EncryptedUpload(UploadedFile):
    """An upload already encrypted at ``path``; only its metadata is held in memory."""

    def __init__(self, *, path: Path, data_key_wrapped: bytes, sha256: str, **kwargs):
        super().__init__(file=None, **kwargs)
        self.path = path
        self.data_key_wrapped = data_key_wrapped
        self.sha256 = sha256

    def discard(self) -> None:
        """Delete the encrypted file when no supply will own it."""
        self.path.unlink(missing_ok=True)


# Room in a request for the form's other fields and the multipart framing, beyond the file.
_FRAMING_BYTES = 64 * 1024


def _refusal(limit: int) -> str:
    return (
        f"The file is larger than the {limit // (1024 * 1024)} MB limit. "
        "Split it into smaller periods, or zip it (a CSV inside a ZIP)."
    )


class EncryptingUploadHandler(FileUploadHandler):
    """Streams each uploaded file through AES-GCM to the raw folder, refusing oversize files."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        """Refuse a request that declares more than a file at the limit could need, before
        reading any of it: nothing is written, and the body is never read."""
        limit = settings.HUB_MAX_UPLOAD_BYTES
        fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        if content_length > limit + fields + _FRAMING_BYTES:
            self.request.upload_refused = _refusal(limit)
            return QueryDict(), MultiValueDict()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.data_key = new_data_key()
        self.path = upload_dir() / f"{uuid.uuid4().hex}.enc"
        self.writer = EncryptingWriter(self.path, self.data_key)

    def receive_data_chunk(self, raw_data, start):
        limit = settings.HUB_MAX_UPLOAD_BYTES
        if self.writer.plaintext_size + len(raw_data) > limit:
            self.upload_interrupted()
            self.request.upload_refused = _refusal(limit)
            raise StopUpload(connection_reset=False)
        self.writer.write(raw_data)

    def file_complete(self, file_size):
        self.writer.close()
        return EncryptedUpload(
            path=self.path,
            data_key_wrapped=wrap_key(self.data_key),
            sha256=self.writer.sha256,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
        )

    def upload_interrupted(self):
        self.writer.close()
        self.path.unlink(missing_ok=True)


def encrypted_upload(*, name: str, data: bytes) -> EncryptedUpload:
    """A file made by the hub itself (not uploaded), stored exactly as an upload would be."""
    data_key = new_data_key()
    path = upload_dir() / f"{uuid.uuid4().hex}.enc"
    with EncryptingWriter(path, data_key) as writer:
        writer.write(data)
    return EncryptedUpload(
        path=path,
        data_key_wrapped=wrap_key(data_key),
        sha256=writer.sha256,
        name=name,
        content_type="text/csv",
        size=len(data),
        charset="utf-8",
    )
