"""Published code lists a schema's ``codeList`` names, and the rules that write a code one way.

A ``codeList`` may name a ``values`` file (a CSV in ``datasets/schemas/codelists/`` with
``code`` and ``name`` columns, ``#`` lines for its source and licence) and a ``normalise``
rule from RULES. The rule turns each way suppliers write a code into one (its normal form),
and says whether a code is on the list; a value it cannot read is NA, which validation reports
as not a code. Everything here works on whole columns: no Python loop over rows.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CODE_LIST_DIR = Path(__file__).resolve().parent / "schemas" / "codelists"
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*\.csv$")
_TEXT = pd.StringDtype("pyarrow")


class CodeListError(ValueError):
    """A values file that is not a code list the hub can use."""


@dataclass(frozen=True)
class CodeRule:
    """How one kind of code is written: ``normalise`` gives each value's normal form (NA
    where it is no such code); ``listed`` says which normal forms the list has."""

    normalise: Callable[[pd.Series], pd.Series]
    listed: Callable[[pd.Series, frozenset[str]], pd.Series]


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


def as_written(values: pd.Series) -> pd.Series:
    """The values unchanged: the rule of a code list that has none of its own."""
    return values.astype(_TEXT)


def on_list(codes: pd.Series, listed: frozenset[str]) -> pd.Series:
    return codes.isin(listed).astype(bool)


# -- Home Office offence classification ------------------------------------------------------
#
# A code is a class number (up to three digits, "8", "105", "802"), then either a letter
# subclass ("8N", "105A": the Home Office's and ONS's statistical subclasses) or a number after
# "/" or "." ("4/1" in the Counting Rules is "4.1" in ONS tables; forces' systems write
# "004/01"). Case, spaces and leading zeros do not matter, nor a "/" before a letter: "8N",
# "008N", "008/N" and " 8n " are all 8N. Without a separator the digits are all the class
# ("801" is class 801, as 802 and 814 are classes). A number subclass of 0 is the class itself
# (the Counting Rules write class 15's one offence "15/00"; forces write "045/00" for class 45).
_HO_CODE = r"^0*(?P<cls>[0-9]{1,3})(?:[/.]?(?P<letter>[A-Z])|[/.](?P<number>[0-9]{1,2}))?$"


def normalise_home_office_offence(values: pd.Series) -> pd.Series:
    """Each Home Office offence code in its normal form: class without leading zeros, then
    the letter ("8N") or "/" and the number without leading zeros ("28/1"); NA if not a code."""
    text = pc.utf8_upper(pc.replace_substring_regex(_arrow(values), r"\s+", ""))
    parts = pc.extract_regex(text, _HO_CODE)
    number = pc.utf8_ltrim(pc.struct_field(parts, "number"), "0")
    suffix = pc.if_else(pc.equal(number, ""), "", pc.binary_join_element_wise("/", number, ""))
    canonical = pc.binary_join_element_wise(
        pc.struct_field(parts, "cls"), pc.struct_field(parts, "letter"), suffix, ""
    )
    return pd.Series(pd.array(canonical, dtype=_TEXT), index=values.index)


def _ho_class(codes: pa.Array) -> pa.Array:
    """The class of each code in its normal form: its leading digits."""
    return pc.replace_substring_regex(codes, r"[^0-9].*$", "")


def home_office_offence_listed(codes: pd.Series, listed: frozenset[str]) -> pd.Series:
    """A code with a letter subclass must be on the list as it is. A class alone, or a class
    with a force's number subclass ("28/1": the published list names classes and their
    statistical subclasses, not every force's offence numbers), needs its class on the list."""
    values = _arrow(codes)
    known = pa.array(sorted(listed), type=pa.string())
    lettered = pc.match_substring_regex(values, r"[A-Z]$")
    by_class = pc.and_(pc.invert(lettered), pc.is_in(_ho_class(values), value_set=_ho_class(known)))
    found = pc.fill_null(pc.or_(pc.is_in(values, value_set=known), by_class), False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=codes.index)


RULES: dict[str, CodeRule] = {
    "home_office_offence": CodeRule(
        normalise=normalise_home_office_offence, listed=home_office_offence_listed
    ),
}


def rule_for(name: str) -> CodeRule:
    """The named rule, or the rule that leaves codes as written."""
    return RULES[name] if name else CodeRule(normalise=as_written, listed=on_list)


# -- values files ----------------------------------------------------------------------------


def codes_as_stored(spec, values: list[str]) -> list[str]:
    """Codes as a user typed them ("008N"), in the normal form records are stored in ("8N");
    a value the field's rule cannot read stays as typed, for the caller to refuse."""
    if not spec.code_rule:
        return values
    normal = rule_for(spec.code_rule).normalise(pd.Series(values, dtype=_TEXT))
    return [
        str(code) if pd.notna(code) else value for code, value in zip(normal, values, strict=True)
    ]


def code_list_path(name: str, directory: Path = CODE_LIST_DIR) -> Path:
    """The values file ``name`` in ``directory``: a plain lower-case file name ending .csv."""
    if not isinstance(name, str) or not _FILE_NAME.match(name):
        raise CodeListError(
            f"codeList values must be the name of a .csv file in {directory.name}/ "
            f"(lower-case letters, digits and _), not {name!r}"
        )
    path = directory / name
    if not path.is_file():
        raise CodeListError(f"codeList values file {name!r} is not in {directory.name}/")
    return path


def read_code_list(path: Path, *, rule: str, pattern: str) -> frozenset[str]:
    """The codes of a values file in their normal form; raises CodeListError if it has no
    codes, a code the rule cannot read or the pattern does not match, or a code twice."""
    return _read_code_list(path, path.stat().st_mtime_ns, rule, pattern)


@functools.lru_cache(maxsize=32)
def _read_code_list(path: Path, _mtime_ns: int, rule: str, pattern: str) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        reader = csv.DictReader(io.StringIO("\n".join(lines)), strict=True)
        if not reader.fieldnames or not {"code", "name"} <= set(reader.fieldnames):
            raise CodeListError(f"{path.name}: the header must have code and name columns")
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise CodeListError(f"{path.name}: not a UTF-8 CSV file ({error})") from error
    if not rows:
        raise CodeListError(f"{path.name}: no codes")
    written = pd.Series([row["code"] for row in rows], dtype=object)
    codes = rule_for(rule).normalise(written)
    unreadable = codes.isna() | ~codes.str.fullmatch(pattern).fillna(False).astype(bool)
    if unreadable.any():
        wrong = ", ".join(repr(code) for code in written[unreadable].head(5))
        raise CodeListError(f"{path.name}: not codes of the list's pattern: {wrong}")
    repeated = codes[codes.duplicated()]
    if not repeated.empty:
        raise CodeListError(
            f"{path.name}: codes listed more than once: {', '.join(repeated.head(5))}"
        )
    return frozenset(codes)
