"""The rejected-rows file: every row of a supply that was not loaded, with why, for the
supplier to correct in their own file.

Kept encrypted with the supply's key, in the supplier's own column names (the header as it
was in their file), each row with the supplier's name for the fields at fault and the
problems found. It is handed out as the CSV a supplier, DLO or co-ordinator opens in Excel:
UTF-8 with a byte-order mark, a first line saying how values were neutralised, and every cell
through the one neutralising rule (``datasets.spreadsheets``), applied as the file goes out so
that files kept from before the rule are safe too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from django.conf import settings

from datasets.models import Supply
from datasets.spreadsheets import NEUTRALISED_NOTE, UTF8_BOM, neutralise_formulas
from hub.crypto import EncryptingWriter, open_encrypted, unwrap_key

LEADING_COLUMNS = ["row", "field", "problems"]
# Rows read, neutralised and sent out at a time.
_CHUNK_ROWS = 5_000


def rejected_rows_path(supply: Supply) -> Path:
    return Path(settings.HUB_FILES_DIR) / "raw" / f"{supply.pk}.rejected.csv.enc"


class RejectedRowsWriter:
    """Writes a supply's rejected rows chunk by chunk, replacing any earlier file.

    ``headers`` maps each of the file's columns that the hub read to its field, in the file's
    order; only those columns are kept (unknown columns are never stored)."""

    def __init__(self, path: Path, data_key: bytes, *, headers: dict[str, str]):
        path.unlink(missing_ok=True)
        self._headers = dict(headers)
        # A column of dates with times is read as two fields ("incident_date and incident_time").
        self._supplier_names = {
            field: column for column, fields in headers.items() for field in fields.split(" and ")
        }
        self._encrypted = EncryptingWriter(path, data_key)
        self._text = io.TextIOWrapper(
            self._encrypted, encoding="utf-8", newline="", write_through=True
        )
        csv.writer(self._text).writerow([*LEADING_COLUMNS, *self._headers])

    def __enter__(self) -> RejectedRowsWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self._text.detach()
        self._encrypted.close()

    def _supplier_field(self, field: str) -> str:
        # A duplicate's field is its key's fields joined by " and "; field names have no spaces.
        return " and ".join(self._supplier_names.get(part, part) for part in field.split(" and "))

    def write(self, chunk: pd.DataFrame, errors: pd.DataFrame) -> None:
        """The chunk's rows that have errors, as supplied, one line each, in row order."""
        if errors.empty:
            return
        grouped = errors.groupby("row", sort=True)
        fields = grouped["field"].agg(
            lambda names: "; ".join(dict.fromkeys(map(self._supplier_field, names)))
        )
        problems = grouped["message"].agg("; ".join)
        rows = chunk.loc[problems.index, list(self._headers)]
        rows.insert(0, "problems", problems)
        rows.insert(0, "field", fields)
        rows.insert(0, "row", problems.index)
        rows.to_csv(self._text, index=False, header=False, lineterminator="\r\n")


def rejected_rows_stream(*, supply: Supply) -> Iterator[bytes]:
    """The supply's rejected rows as a spreadsheet-safe CSV: a byte-order mark, a first line
    saying how values were neutralised, then the header and rows with every cell neutralised."""
    key = unwrap_key(bytes(supply.data_key_wrapped))
    note = io.StringIO()
    csv.writer(note, lineterminator="\r\n").writerow([NEUTRALISED_NOTE])
    yield UTF8_BOM + note.getvalue().encode()
    with open_encrypted(rejected_rows_path(supply), key) as stream:
        # Read by pandas, not the csv module, which refuses cells over 128 KB (a row can be
        # rejected for a cell of megabytes); the header goes through the rule as a row.
        chunks = pd.read_csv(
            io.TextIOWrapper(stream, encoding="utf-8", newline=""),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            chunksize=_CHUNK_ROWS,
        )
        for chunk in chunks:
            text = neutralise_formulas(chunk).to_csv(
                index=False, header=False, lineterminator="\r\n"
            )
            yield text.encode()
