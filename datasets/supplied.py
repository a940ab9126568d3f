"""What a supplier sent: the stored file, its format told from its name, and the one error
for a file that cannot be read as a whole, whose message says what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datasets.choices import FileFormat


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class SuppliedFile:
    path: Path
    data_key: bytes
    file_format: str
    max_bytes: int


def format_from_name(filename: str) -> str:
    """The file format from its name, or UnreadableFile naming the formats accepted."""
    suffix = Path(filename).suffix.lower()
    formats = {".csv": FileFormat.CSV, ".txt": FileFormat.CSV, ".xlsx": FileFormat.XLSX}
    formats[".zip"] = FileFormat.ZIP
    formats[".xml"] = FileFormat.XML
    if suffix == ".xls":
        raise UnreadableFile(
            "Old Excel files (.xls) are not accepted: save it as an Excel workbook (.xlsx) or CSV."
        )
    if suffix not in formats:
        raise UnreadableFile(
            f"{filename!r} is not a CSV (.csv), Excel workbook (.xlsx), ZIP of a CSV (.zip) or "
            "XML submission (.xml)."
        )
    return formats[suffix]
