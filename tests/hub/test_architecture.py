"""The architecture the access gates rely on: only the access modules read who holds which
role, so no route can decide access by itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("hub", "datasets", "sanitise", "sharing")
# The gates; the model that defines the field, the one service that writes it and the
# admin that lists it.
MAY_READ_ROLES = {
    "hub/access.py",
    "datasets/access.py",
    "sharing/access/levels.py",
    "sharing/access/scope.py",
    "sharing/access/objects.py",
    "hub/models.py",
    "hub/services.py",
    "hub/admin.py",
}


def product_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path


# Query methods whose string arguments name fields: values_list("roles") reads them.
QUERY_METHODS = {"values", "values_list", "only", "order_by", "distinct", "annotate"}


def _through_roles(name) -> bool:
    return isinstance(name, str) and "roles" in name.split("__")


def role_reads(source: str) -> list[int]:
    """Lines that read Membership.roles: the attribute, a lookup through it, or a query
    method naming it. Passing ``roles=`` to the service that sets them is not a read."""
    lines = set()
    for node in ast.walk(ast.parse(source)):
        attribute = isinstance(node, ast.Attribute) and node.attr == "roles"
        lookup = isinstance(node, ast.keyword) and "__" in (node.arg or "")
        if attribute or (lookup and _through_roles(node.arg)):
            lines.add(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and any(isinstance(a, ast.Constant) and _through_roles(a.value) for a in node.args)
        ):
            lines.add(node.lineno)
    return sorted(lines)


def test_only_the_access_modules_read_roles():
    offenders = {
        name: role_reads(path.read_text())
        for name, path in product_modules()
        if name not in MAY_READ_ROLES
    }
    assert {name: lines for name, lines in offenders.items() if lines} == {}


def test_the_check_finds_a_role_read():
    # The check itself must see each way a module could read roles.
    assert role_reads("membership.roles\n")
    assert role_reads("Agency.objects.filter(memberships__roles__contains=['dlo'])\n")
    assert role_reads("Membership.objects.filter(roles__overlap=['dlo'])\n")
    assert role_reads("user.memberships.values_list('roles', flat=True)\n")
    assert not role_reads("Membership.objects.filter(user=user)\n")
    assert not role_reads("membership_grant(user=user, agency=agency, roles=['dlo'])\n")
    assert not role_reads("detail = {'roles': roles}\n")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[int]:
    """Lines that import another module's private name, or reach one through an imported
    module or class (``staging._chunk_path``). Django's ``Model._meta`` is public API."""
    tree = ast.parse(source)
    imported, lines = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported.add(alias.asname or alias.name)
                if _private(alias.name):
                    lines.add(node.lineno)
        elif isinstance(node, ast.Import):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and _private(node.attr)
            and node.attr != "_meta"
        ):
            lines.add(node.lineno)
    return sorted(lines)


def test_no_module_uses_another_modules_private_names():
    offenders = {name: private_uses(path.read_text()) for name, path in product_modules()}
    assert {name: lines for name, lines in offenders.items() if lines} == {}


def test_the_check_finds_a_private_use():
    assert private_uses("from datasets.pipeline.load import _record_table\n")
    assert private_uses("from datasets import staging\nstaging._chunk_path(1)\n")
    assert not private_uses("def _own():\n    pass\n_own()\n")
    assert not private_uses("from datasets.models import Record\nRecord._meta.db_table\n")
    assert not private_uses("self._stop.set()\n")
