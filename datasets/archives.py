"""The ZIP containers of supplied files (a ZIP of one CSV; an XLSX workbook is a ZIP too),
checked before anything is inflated: declared sizes, inflation ratio, the local header, and a
stream that stops at the member's declared size. Each refusal is an UnreadableFile."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from contextlib import contextmanager

from datasets.supplied import SuppliedFile, UnreadableFile
from hub.crypto import open_encrypted

# A ZIP member may expand to at most this multiple of the upload limit (a ZIP bomb does more).
_MAX_EXPANSION = 4
# Real spreadsheets and CSVs deflate at most some tens of times; a bomb deflates a thousandfold.
_MAX_RATIO = 200
_RATIO_FLOOR = 16 * 1024 * 1024


def check_expansion(archive: zipfile.ZipFile, *, max_bytes: int, what: str) -> None:
    """Refuse an archive whose members declare more than the hub will inflate, before any is
    read. zipfile never inflates a member past its declared size (it fails the CRC instead),
    so the declared sizes bound what reading can cost."""
    members = archive.infolist()
    total = sum(info.file_size for info in members)
    if total > max_bytes * _MAX_EXPANSION:
        raise UnreadableFile(
            f"{what} would expand to {total // 2**20:,} MB, more than the hub accepts. "
            "Supply it in smaller periods."
        )
    for info in members:
        if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_RATIO * info.compress_size:
            raise UnreadableFile(
                f"{what} is compressed {info.file_size // max(info.compress_size, 1):,}-fold "
                f"({info.filename} expands to {info.file_size // 2**20:,} MB), as only a "
                "deliberately crafted file is. Export the data again from your system."
            )


@contextmanager
def zip_member(supplied: SuppliedFile):
    """The single CSV inside the ZIP: an opener for streaming it, and its size in bytes."""
    with open_encrypted(supplied.path, supplied.data_key) as stream:
        archive_bytes = io.BytesIO(stream.read())  # zipfile needs to seek; still compressed
    try:
        archive = zipfile.ZipFile(archive_bytes)
    except zipfile.BadZipFile as error:
        raise UnreadableFile("The ZIP file is damaged or is not a ZIP file.") from error
    with archive:
        check_expansion(archive, max_bytes=supplied.max_bytes, what="The ZIP file")
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        csvs = [info for info in members if info.filename.lower().endswith((".csv", ".txt"))]
        if len(members) != 1 or len(csvs) != 1:
            names = ", ".join(info.filename for info in members) or "nothing"
            raise UnreadableFile(
                f"The ZIP must hold exactly one CSV file; it holds {names}. "
                "Zip one month's CSV on its own."
            )
        member = csvs[0]
        _check_local_header(archive_bytes, member)
        if member.file_size > supplied.max_bytes * _MAX_EXPANSION:
            raise UnreadableFile(
                f"The CSV inside the ZIP would expand to {member.file_size // 2**20} MB, "
                "more than the hub accepts. Supply it in smaller periods."
            )
        limit = supplied.max_bytes * _MAX_EXPANSION
        yield lambda: _bounded(_open_member(archive, member), limit), member.file_size


# What zipfile and zlib raise on a member whose headers or data are damaged, or whose data
# is not what the headers say (zipfile stops a member at its declared size and then finds
# that the checksum is wrong).
_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError)
_ZIP_DAMAGED = (
    "The ZIP file is damaged or is not what it claims to be: the CSV inside it does not match "
    "the size and checksum the ZIP records for it. Zip the CSV again (or supply the CSV "
    "itself) and supply the new file."
)


# A member's local header, as APPNOTE 4.3.7 lays it out: signature, version, system, flags,
# method, time, date, CRC-32, compressed size, size, name length, extra length.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_SIZES_IN_DESCRIPTOR = 0x08
_ZIP64_SIZE = 0xFFFFFFFF


def _check_local_header(archive_bytes: io.BytesIO, member: zipfile.ZipInfo) -> None:
    """Refuse a member whose local header tells another story than the central directory
    (zipfile reads by the directory alone; other tools by the local header)."""
    archive_bytes.seek(member.header_offset)
    raw = archive_bytes.read(_LOCAL_HEADER.size)
    if len(raw) < _LOCAL_HEADER.size:
        raise UnreadableFile(_ZIP_DAMAGED)
    signature, _, _, flags, method, _, _, crc, compressed, size, _, _ = _LOCAL_HEADER.unpack(raw)
    if signature != b"PK\x03\x04" or method != member.compress_type:
        raise UnreadableFile(_ZIP_DAMAGED)
    if flags & _SIZES_IN_DESCRIPTOR:
        return  # the local header leaves them empty; the CRC is checked as the member is read
    declared = [(crc, member.CRC)]
    if _ZIP64_SIZE not in (compressed, size):
        declared += [(compressed, member.compress_size), (size, member.file_size)]
    if any(local != central for local, central in declared):
        raise UnreadableFile(_ZIP_DAMAGED)


def _open_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo):
    try:
        return archive.open(member)
    except _ZIP_MEMBER_ERRORS as error:
        raise UnreadableFile(_ZIP_DAMAGED) from error
    except (NotImplementedError, RuntimeError) as error:  # an unknown method, or a password
        raise UnreadableFile(
            "The CSV inside the ZIP is encrypted or compressed in a way the hub cannot read. "
            "Zip it again without a password, with ordinary (deflate) compression."
        ) from error


class _Bounded(io.RawIOBase):
    """Stops a stream that expands past its declared size (a ZIP that lies about itself), and
    turns a damaged member's errors into a message for the supplier."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._stream.read(len(buffer))
        except _ZIP_MEMBER_ERRORS as error:
            raise UnreadableFile(_ZIP_DAMAGED) from error
        self._remaining -= len(data)
        if self._remaining < 0:
            raise UnreadableFile("The CSV inside the ZIP expands beyond what the hub accepts.")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _bounded(stream, limit: int) -> io.BufferedReader:
    return io.BufferedReader(_Bounded(stream, limit))
