"""The audit trail reads as sentences: every action the hub writes has words (a scan of the
source finds them all, so an action added without words fails here), the detail is said in
words, never as a Python dict, and the page and its export keep each action's code."""

from __future__ import annotations

import ast
import csv
import io
import itertools
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.access import refuse
from hub.models import Agency, AuditEntry
from hub.services import audit_record, membership_grant
from sharing.audit_words import ACTION_PHRASES, action_phrase, audit_lines
from sharing.audit_words.values import SENTENCES
from tests.conftest import sign_in
from tests.hub import owned

ROOT = Path(__file__).resolve().parents[2]
APPS = ("hub", "datasets", "sanitise", "sharing")
WRITER = "audit_record"
POLICE, COUNCIL = "Greater Manchester Police (Wigan)", "Wigan Council"
OFFENCES = "Police recorded crime: the offence"


# -- the scan of the source for the actions written --------------------------------------------


class Unresolved(Exception):
    pass


class ActionScan:
    """The actions that calls of ``audit_record`` write, read from the source: a literal, a
    member of a TextChoices enum, either branch of ``a if c else b``, an f-string, or a name
    assigned in the function or passed to it as an argument by its callers (followed to them).
    ``unresolved`` lists calls whose action it cannot tell: teach the scan, don't skip them."""

    def __init__(self, sources: dict[str, str]):
        self.enums: dict[str, dict[str, str]] = {}
        self.functions: dict[str, list[ast.FunctionDef]] = defaultdict(list)
        self.calls: dict[str, list[tuple[str, ast.Call, ast.FunctionDef | None]]] = defaultdict(
            list
        )
        for name, source in sources.items():
            self._read(name, ast.parse(source), None)
        self.actions: set[str] = set()
        self.unresolved: list[str] = []
        for where, call, function in self.calls[WRITER]:
            action = next((k.value for k in call.keywords if k.arg == "action"), None)
            try:
                if action is None:
                    raise Unresolved("no action=")
                self.actions |= self.resolve(action, function)
            except Unresolved:
                shown = ast.unparse(action) if action is not None else "(none)"
                self.unresolved.append(f"{where}:{call.lineno} action={shown}")

    def _read(self, where: str, node: ast.AST, function) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                members = {
                    target.id: value
                    for statement in child.body
                    if isinstance(statement, ast.Assign)
                    for target in statement.targets
                    if isinstance(target, ast.Name)
                    for value in [_choice_value(statement.value)]
                    if value is not None
                }
                if members:
                    self.enums[child.name] = members
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[child.name].append(child)
                self._read(where, child, child)
                continue
            if isinstance(child, ast.Call):
                callee = getattr(child.func, "id", None) or getattr(child.func, "attr", None)
                if callee:
                    self.calls[callee].append((where, child, function))
            self._read(where, child, function)

    def resolve(self, node: ast.AST, function, depth: int = 0) -> set[str]:
        if depth > 6:
            raise Unresolved("too deep")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            members = self.enums.get(node.value.id, {})
            if node.attr in members:
                return {members[node.attr]}
        if isinstance(node, ast.IfExp):
            return self.resolve(node.body, function, depth) | self.resolve(
                node.orelse, function, depth
            )
        if isinstance(node, ast.JoinedStr):
            parts = [
                {part.value}
                if isinstance(part, ast.Constant)
                else self.resolve(part.value, function, depth)
                for part in node.values
            ]
            return {"".join(pieces) for pieces in itertools.product(*parts)}
        if isinstance(node, ast.Name) and function is not None:
            return self._name(node.id, function, depth)
        raise Unresolved(ast.unparse(node))

    def _name(self, name: str, function, depth: int) -> set[str]:
        assigned = set()
        for node in ast.walk(function):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    assigned |= self.resolve(node.value, function, depth + 1)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for element, value in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(element, ast.Name) and element.id == name:
                            assigned |= self.resolve(value, function, depth + 1)
        if assigned:
            return assigned
        arguments = function.args
        positional = [a.arg for a in arguments.posonlyargs + arguments.args]
        if name not in positional + [a.arg for a in arguments.kwonlyargs]:
            raise Unresolved(name)
        found = set()
        for _where, call, caller in self.calls[function.name]:
            passed = next((k.value for k in call.keywords if k.arg == name), None)
            if passed is None and name in positional and positional.index(name) < len(call.args):
                passed = call.args[positional.index(name)]
            if passed is None or isinstance(passed, ast.Starred):
                raise Unresolved(f"{function.name}() called without {name}")
            found |= self.resolve(passed, caller, depth + 1)
        return found


def _choice_value(node) -> str | None:
    # NAME = "code", "Label" (or NAME = "code") in a TextChoices class.
    if isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0], ast.Constant):
        node = node.elts[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def product_sources() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text()
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    }


def test_every_action_the_hub_writes_has_a_phrase_and_a_sentence():
    scan = ActionScan(product_sources())
    assert scan.unresolved == []
    assert len(scan.actions) > 80
    assert sorted(scan.actions - set(ACTION_PHRASES)) == []
    assert sorted(scan.actions - set(SENTENCES)) == []


def test_the_scan_finds_actions_however_they_are_written():
    written = ActionScan(product_sources()).actions
    # Literal, enum, either branch, f-string from its callers, a variable, a wrapper's argument.
    assert {
        "supply_stage_done", "token_issued", "agency_changed", "audit_exported",
        "foi_answer_refused", "foi_release_refused", "user_deactivated",
        "user_removed_from_partnership", "records_purged", "identifying_purged",
        "data_request_end_refused", "data_request_decision_refused", "gazetteer_imported",
        "access_refused",
    } <= written  # fmt: skip


def test_the_scan_reports_an_action_it_cannot_tell():
    source = (
        "def wrapper(*, step):\n    audit_record(actor=None, action=f'{step}_done')\n"
        "def caller(kind):\n    wrapper(step=kind.value)\n"
        "def other(**kwargs):\n    audit_record(actor=None, **kwargs)\n"
    )
    scan = ActionScan({"example.py": source})
    assert scan.unresolved == ["example.py:2 action=f'{step}_done'", "example.py:6 action=(none)"]
    scan = ActionScan(
        {"example.py": "def w(step):\n    audit_record(action=f'a_{step}')\nw('b')\nw(step='c')\n"}
    )
    assert scan.actions == {"a_b", "a_c"}


# -- the sentences -----------------------------------------------------------------------------


def line_of(entry: AuditEntry):
    (line,) = audit_lines(AuditEntry.objects.filter(pk=entry.pk).select_related("agency"))
    return line


def newest(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).order_by("-id").first()


@pytest.mark.django_db
def test_a_supply_uploaded_reads_as_a_sentence(personas):
    entry = audit_record(
        actor=personas["police_supplier"], action="supply_uploaded",
        agency=Agency.objects.get(name=POLICE), dataset_slug="police_crime_offence",
        detail={"file": "october.csv", "bytes": 2_202_010, "sha256": "ab" * 32,
                "period": ["2026-10-01", "2026-10-31"]},
    )  # fmt: skip
    line = line_of(entry)
    assert line.sentence == (
        f"Priya Shah uploaded october.csv (2.1 MB) for {OFFENCES}, 01/10/2026 to 31/10/2026."
    )
    assert (line.who, line.dataset) == ("Priya Shah", OFFENCES)


@pytest.mark.django_db
def test_a_pipeline_stage_done_names_the_stage_and_the_next(personas):
    entry = audit_record(
        actor=None, action="supply_stage_done", agency=Agency.objects.get(name=POLICE),
        dataset_slug="police_crime_offence", detail={"stage": "validating", "next": "geocoding"},
        system="pipeline",
    )  # fmt: skip
    assert line_of(entry).sentence == (
        f"The pipeline finished validating a supply of {OFFENCES} from {POLICE} and passed it "
        "to geocoding."
    )
    last = audit_record(
        actor=None, action="supply_stage_done", agency=Agency.objects.get(name=POLICE),
        dataset_slug="police_crime_offence", detail={"stage": "reporting", "next": "completed"},
        system="pipeline",
    )  # fmt: skip
    assert line_of(last).sentence.endswith(f"from {POLICE}: the supply is complete.")


@pytest.mark.django_db
def test_an_access_refused_says_what_and_why(personas):
    reason = "Only analysts of core-tier agencies see the map."
    refuse(user=personas["analyst"], route="map page", reason=reason)
    assert line_of(newest("access_refused")).sentence == (
        "Amir Hussain was refused the map: Only analysts of core-tier agencies see the map "
        "(route: map page)."
    )


@pytest.mark.django_db
def test_a_withdrawal_says_who_withdrew_what_and_why(personas):
    entry = audit_record(
        actor=personas["coordinator"], action="supply_withdrawn",
        agency=Agency.objects.get(name=COUNCIL), dataset_slug="council_asb",
        detail={"reason": "The wrong month was supplied.", "records": 1204,
                "restored": ["4f1c0d6e-0000-0000-0000-000000000000"]},
    )  # fmt: skip
    assert line_of(entry).sentence == (
        "Clare Ormerod withdrew a supply of Council-recorded ASB and environmental crime from "
        "Wigan Council (1,204 records): The wrong month was supplied; 1 earlier supply of the "
        "period counts again."
    )


@pytest.mark.django_db
def test_a_retention_purge_says_how_much_of_what_and_how_old(personas):
    entry = audit_record(
        actor=None, action="records_purged", agency=Agency.objects.get(name=COUNCIL),
        dataset_slug="council_asb", system="retention",
        detail={"records": 1204, "identifying": 0, "retention_months": 36,
                "boundary": "2023-12-01"},
    )  # fmt: skip
    assert line_of(entry).sentence == (
        "Retention deleted 1,204 records of Council-recorded ASB and environmental crime from "
        "Wigan Council older than 36 months (before 01/12/2023)."
    )


@pytest.mark.django_db
def test_a_membership_change_names_the_person_and_the_roles(personas):
    council = Agency.objects.get(name=COUNCIL)
    membership_grant(
        user=personas["analyst"], agency=council, roles=["analyst", "supplier"],
        acting_user=personas["coordinator"],
    )  # fmt: skip
    assert line_of(newest("membership_changed")).sentence == (
        "Clare Ormerod gave Amir Hussain the roles Analyst and Supplier at Wigan Council."
    )


@pytest.mark.django_db
def test_an_isp_signature_withdrawn_and_a_system_actor_read_in_words(personas):
    entry = audit_record(
        actor=personas["coordinator"], action="isp_signature_withdrawn",
        agency=Agency.objects.get(name=COUNCIL),
        detail={"version": "2.0", "withdrawn_on": "2026-11-03"},
    )  # fmt: skip
    assert line_of(entry).sentence == (
        "Clare Ormerod withdrew Wigan Council's ISP signature (version 2.0) on 03/11/2026."
    )
    reminder = audit_record(
        actor=None, action="supply_reminder_sent", agency=Agency.objects.get(name=POLICE),
        dataset_slug="police_crime_offence", system="schedule",
        detail={"period": ["2026-08-01", "2026-08-31"], "due": "2026-09-15",
                "to": ["police_supplier", "gone_user"], "no_supplier": False},
    )  # fmt: skip
    assert line_of(reminder).sentence == (
        f"The schedule reminded Priya Shah and gone_user that {POLICE}'s supply of {OFFENCES} "
        "for 01/08/2026 to 31/08/2026, due on 15/09/2026, has not arrived."
    )


@pytest.mark.django_db
def test_an_unknown_action_and_unexpected_keys_are_said_in_words_not_as_python(personas):
    entry = audit_record(
        actor=personas["analyst"], action="mystery_happened",
        detail={"colour": "blue", "sizes": [1, 2], "nested": {"a_b": True}, "when": "2026-08"},
    )  # fmt: skip
    sentence = line_of(entry).sentence
    assert sentence == (
        "Amir Hussain: mystery happened. Also recorded: colour: blue; nested: (a b: yes); "
        "sizes: 1 and 2; when: August 2026."
    )
    extra = audit_record(
        actor=personas["analyst"], action="extract_downloaded",
        dataset_slug="police_crime_offence", detail={"rows": 12, "odd_key": None},
    )  # fmt: skip
    assert line_of(extra).sentence == (
        f"Amir Hussain downloaded an extract of {OFFENCES} (12 rows). Also recorded: odd key: none."
    )
    # A detail of a shape its sentence does not expect falls back to words, never a repr.
    odd = audit_record(actor=personas["analyst"], action="supply_withdrawn", detail=["a", "b"])
    assert line_of(odd).sentence == (
        "Amir Hussain withdrew a supply of a dataset. Also recorded: detail: a and b."
    )
    for said in (sentence, line_of(odd).sentence):
        assert not set("{}[]'") & set(said)
    assert action_phrase("mystery_happened") == "Mystery happened"


# -- the page and the export -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_sentences_with_codes_and_escapes_markup(client, personas):
    refuse(user=personas["analyst"], route="map page", reason="<script>alert(1)</script>")
    sign_in(client, personas["coordinator"])
    page = client.get("/governance/audit/").content.decode()
    assert "Amir Hussain was refused the map: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<code>access_refused</code>" in page
    assert "{&#x27;" not in page and "{'" not in page  # no Python dict
    # The filter offers the actions in words, with their codes.
    assert '<option value="supply_withdrawn">Supply withdrawn (supply_withdrawn)</option>' in page


@pytest.mark.django_db
def test_the_export_has_the_sentence_and_the_code(client, personas):
    audit_record(
        actor=personas["police_supplier"], action="supply_uploaded",
        agency=Agency.objects.get(name=POLICE), dataset_slug="police_crime_offence",
        detail={"file": "october.csv", "bytes": 2_202_010, "period": ["2026-10-01", "2026-10-31"],
                "sha256": "ab" * 32},
    )  # fmt: skip
    sign_in(client, personas["coordinator"])
    response = client.get("/governance/audit/export.csv", {"action": "supply_uploaded"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    (row,) = rows
    assert row["what"] == (
        f"Priya Shah uploaded october.csv (2.1 MB) for {OFFENCES}, 01/10/2026 to 31/10/2026."
    )
    assert (row["action"], row["who"]) == ("supply_uploaded", "police_supplier")
    assert '"sha256": "' in row["detail"]  # the detail as recorded, for investigators


@pytest.mark.django_db
def test_the_filter_takes_a_code_exactly_or_words_loosely(client, personas):
    council = Agency.objects.get(name=COUNCIL)
    for action in ("data_request_refused", "data_request_refused_by_dlo", "supply_withdrawn"):
        audit_record(actor=personas["coordinator"], action=action, agency=council,
                     detail={"reason": f"marker-{action}"})  # fmt: skip
    sign_in(client, personas["coordinator"])

    def shown(**filters) -> set[str]:
        page = client.get("/governance/audit/", filters).content.decode()
        return {action for action in ("data_request_refused", "data_request_refused_by_dlo",
                                      "supply_withdrawn") if f"marker-{action}<" in page or
                f"marker-{action}." in page}  # fmt: skip

    assert shown(action="data_request_refused") == {"data_request_refused"}
    assert shown(action="refused_by") == {"data_request_refused_by_dlo"}
    assert shown(action="Withdrawn") == {"supply_withdrawn"}  # by its words
    page = client.get("/governance/audit/", {"action": "refused_by"}).content.decode()
    assert "Anything matching “refused_by”" in page


@pytest.mark.django_db
def test_the_page_reads_names_in_a_fixed_number_of_queries(client, personas):
    council = Agency.objects.get(name=COUNCIL)
    sign_in(client, personas["coordinator"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/governance/audit/").status_code == 200
        return len(captured)

    def entries(number: int) -> None:
        slugs = ["council_asb", "police_crime_offence", "community_survey"]
        actors = [personas[name] for name in ("analyst", "coordinator", "council_supplier")]
        for index in range(number):
            audit_record(
                actor=actors[index % 3], action="membership_changed", agency=council,
                dataset_slug=slugs[index % 3],
                detail={"user": actors[(index + 1) % 3].username, "roles": ["analyst"]},
            )  # fmt: skip

    entries(3)
    few = queries()
    entries(30)
    assert queries() == few


@pytest.mark.django_db
def test_people_of_another_partnership_are_named_by_username_only(personas):
    elsewhere = owned.other_partnership()
    visitor = elsewhere["supplier"]
    visitor.first_name, visitor.last_name = "Vera", "Visitor"
    visitor.save(update_fields=["first_name", "last_name"])
    refuse(
        user=visitor, route="map page", reason="Not of this partnership.",
        partnership=Agency.objects.get(name=POLICE).partnership,
    )  # fmt: skip

    line = line_of(newest("access_refused"))

    assert "Vera Visitor" not in line.sentence and visitor.username in line.sentence
