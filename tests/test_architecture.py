"""Rules of shape, enforced by a test (conventions items 2 and 8; spec 2.8).

API modules (``api.py``, ``views.py``, ``serializers.py``, or modules of an ``api``/``views`` package) authenticate,
validate and call a service or selector. They must not import a ``models`` module nor use ``.objects``: the ORM
stays in services and selectors. Spec 2.8 is a case of this rule: API code reaches segments only through
``segments.services.UserService``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_MODULE_NAMES = {"api.py", "views.py", "serializers.py"}
API_PACKAGE_NAMES = {"api", "views", "serializers"}
SKIP_DIRS = {".venv", "tests", "bench", "migrations", "node_modules", "staticfiles", ".git"}


def app_dirs() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("*/apps.py") if p.parent.name not in SKIP_DIRS)


def api_modules() -> list[Path]:
    found: list[Path] = []
    for app in app_dirs():
        for path in app.rglob("*.py"):
            parts = set(path.relative_to(app).parts)
            if parts & SKIP_DIRS:
                continue
            if path.name in API_MODULE_NAMES or parts & API_PACKAGE_NAMES:
                found.append(path)
    return sorted(found)


def _is_models(module: str) -> bool:
    return module == "models" or module.endswith(".models") or ".models." in module


def offences(source: str, filename: str = "<source>") -> list[str]:
    """Each forbidden import or ORM manager use in ``source``, as "line N: what"."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if _is_models(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if _is_models(module):
                found.append(f"line {node.lineno}: from {'.' * node.level}{module} import ...")
            else:
                found += [
                    f"line {node.lineno}: from {'.' * node.level}{module} import models"
                    for a in node.names
                    if a.name == "models"
                ]
        elif isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "_base_manager"}:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_checker_finds_each_kind_of_offence():
    # given code that breaks the rule in every way the checker knows, and code that does not
    bad = (
        "import players.models\n"
        "from players.models import Player\n"
        "from players import models\n"
        "from .models import UserAction\n"
        "from . import models as m\n"
        "from django.db import models\n"
        "x = Player.objects.filter(id=1)\n"
        "y = Player._default_manager.all()\n"
    )
    good = "from players import selectors, services\nfrom core.models_helpers import thing\nservices.run(objects=1)\n"
    # when both are checked
    # then each offence of the first is reported, with its line, and the second is clean
    assert [o.split(":")[0] for o in offences(bad)] == [f"line {n}" for n in range(1, 9)]
    assert offences(good) == []


def test_api_modules_are_found():
    # given the project's apps
    # when their API modules are listed
    names = {str(p.relative_to(ROOT)) for p in api_modules()}
    # then the known ones are among them (the check below is not vacuous)
    assert {"activity/api.py", "players/api.py", "core/views.py", "players/serializers.py"} <= names


def test_api_modules_do_not_touch_the_orm():
    # given every API module of every app
    # when each is parsed
    report = {str(path.relative_to(ROOT)): offences(path.read_text(), str(path)) for path in api_modules()}
    offenders = {path: found for path, found in report.items() if found}
    # then none imports a models module or uses a model manager
    assert not offenders, (
        "API modules must call services/selectors, not the ORM (conventions 2 and 8, spec 2.8):\n"
        + "\n".join(f"  {path}: {'; '.join(found)}" for path, found in sorted(offenders.items()))
    )


# --- spec 2.8, named: API code reaches segments only through segments.services.UserService ----------------------

SEGMENT_TABLES = ("user_segments", "user_segment_history", "segment_rules", "segment_runs")
SQL_WORDS = ("select ", "update ", "insert ", "delete ", " from ", " join ")


def segment_offences(source: str, filename: str = "<source>") -> list[str]:
    """Each way ``source`` reaches segments other than through ``segments.services.UserService``: importing any
    other segments module or name (models, selectors, the batch's SQL), or SQL text naming a segments table."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name == "segments" or a.name.startswith("segments.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module == "segments":
                found += [
                    f"line {node.lineno}: from segments import {a.name}"
                    for a in node.names
                    if a.name not in ("services", "serializers")
                ]
            elif module == "segments.services":
                found += [
                    f"line {node.lineno}: from segments.services import {a.name}"
                    for a in node.names
                    if a.name != "UserService"
                ]
            elif module.startswith("segments.") and module != "segments.serializers":
                found.append(f"line {node.lineno}: from {module} import ...")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if any(t in text for t in SEGMENT_TABLES) and any(w in text for w in SQL_WORDS):
                found.append(f"line {node.lineno}: SQL naming a segments table")
    return found


def test_segment_checker_finds_each_way_around_user_service():
    # given code that reaches segments around UserService in every way the checker knows, and code that does not
    bad = (
        "import segments.models\n"
        "from segments import selectors\n"
        "from segments.models import UserSegment\n"
        "from segments.services import segment_batch_run\n"
        "from segments.rfm_sql import stage_sql\n"
        "cursor.execute('SELECT rfm_group FROM user_segments WHERE user_id = %s', [1])\n"
    )
    good = (
        "from segments.services import UserService\n"
        "from segments.serializers import SegmentOutput\n"
        "segment = UserService.get_or_create_segment(user_id)\n"
        "'''Reads user_segments through UserService.'''\n"
    )
    # when both are checked
    # then each offence of the first is reported with its line, and the second is clean
    assert [o.split(":")[0] for o in segment_offences(bad)] == [f"line {n}" for n in range(1, 7)]
    assert segment_offences(good) == []


def test_api_modules_reach_segments_only_through_user_service():
    # given every API module of every app
    report = {str(path.relative_to(ROOT)): segment_offences(path.read_text(), str(path)) for path in api_modules()}
    offenders = {path: found for path, found in report.items() if found}
    # when the segments endpoint's module is read
    segment_api = (ROOT / "segments" / "api.py").read_text()
    # then none reaches segments around UserService, and the segments API does go through get_or_create_segment
    assert not offenders, (
        "Spec 2.8: API code must call segments.services.UserService, not segment models, selectors or SQL:\n"
        + "\n".join(f"  {path}: {'; '.join(found)}" for path, found in sorted(offenders.items()))
    )
    assert "UserService.get_or_create_segment(" in segment_api


# --- app layers and table ownership (docs/ARCHITECTURE.md "Layers"; import-linter contracts in pyproject.toml) --------

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's verdict on the project's contracts for the code in ``tree``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The project's Python modules and pyproject.toml, copied where a test may plant a violation."""
    for path in [ROOT / "pyproject.toml", *python_files()]:
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return tmp_path


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not set(p.relative_to(ROOT).parts) & {".venv", "node_modules"})


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / module
    path.write_text(path.read_text() + "\n" + line + "\n")


def test_the_project_keeps_its_import_contracts():
    # given the project as it is
    # when import-linter checks its contracts
    result = lint_imports(ROOT)
    # then every contract is kept
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_contract_catches_a_planted_cycle(project_copy):
    # given a lower app that imports a higher one (players -> recommendations; recommendations imports players)
    plant(project_copy, "players/services.py", "from recommendations import engine  # noqa")
    # when import-linter checks the copy
    result = lint_imports(project_copy)
    # then the layers contract is broken, naming the import
    assert result.returncode != 0
    assert "players is not allowed to import recommendations" in result.stdout
    assert "players.services -> recommendations.engine" in result.stdout


def test_the_ownership_contract_catches_a_planted_write_to_another_apps_table(project_copy):
    # given an app that reaches the wallet's model to write the ledger itself
    plant(project_copy, "corporate/services.py", "from wallet.models import LedgerEntry  # noqa")
    # when import-linter checks the copy
    result = lint_imports(project_copy)
    # then wallet's protected contract is broken, naming the import
    assert result.returncode != 0
    assert "Illegal imports of protected package wallet.models" in result.stdout
    assert "corporate.services -> wallet.models" in result.stdout


# Raw SQL is the other way to write a table: a statement naming another app's table. Statements are spelled with
# their keywords in capitals in this code base (prose such as "update user_segments" is not a write).
SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?|LOCK\s+TABLE)\s+(\w+)")


def table_owners() -> dict[str, str]:
    """Every table of the project's models, with the app that owns it."""
    from django.apps import apps

    return {m._meta.db_table: m._meta.app_label for m in apps.get_models()}


def string_texts(source: str) -> list[tuple[int, str]]:
    """Each string constant of ``source`` (f-strings by their literal parts), with its line."""
    texts: list[tuple[int, str]] = []
    tree = ast.parse(source)
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            texts.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            texts.append((node.lineno, literal))
    return texts


def foreign_sql_writes(source: str, app: str, owners: dict[str, str]) -> list[str]:
    """Each statement in ``source`` (a module of ``app``) that writes a table another app owns."""
    found = []
    for line, text in string_texts(source):
        for match in SQL_WRITE.finditer(text):
            owner = owners.get(match.group(1))
            if owner is not None and owner != app:
                found.append(f"line {line}: {match.group(0)} (a table of {owner})")
    return found


def product_apps() -> list[str]:
    return [p.name for p in app_dirs()]


def test_the_sql_checker_finds_a_write_to_another_apps_table():
    # given statements of the corporate app: writes to its own table, to the wallet's, and reads of anything
    owners = table_owners()
    source = (
        'a = "INSERT INTO site_rewards (user_id) VALUES (%s)"\n'
        'b = f"UPDATE wallets SET balance = {x} WHERE player_id = %s"\n'
        'c = "SELECT balance FROM wallets JOIN token_ledger l ON true"\n'
        'd = """WITH l AS (DELETE FROM token_ledger RETURNING id) SELECT 1"""\n'
    )
    # when it is checked as corporate code
    found = foreign_sql_writes(source, "corporate", owners)
    # then the two writes to the wallet's tables are named, with their lines, and nothing else
    assert found == [
        "line 2: UPDATE wallets (a table of wallet)",
        "line 4: DELETE FROM token_ledger (a table of wallet)",
    ]


def test_no_app_writes_another_apps_table_in_sql(db):
    # given every module of every app (tests and benchmarks are not apps)
    owners = table_owners()
    assert {"user_actions", "token_ledger", "site_rewards", "user_segments"} <= set(owners)
    offences = {}
    for app in product_apps():
        for path in sorted((ROOT / app).rglob("*.py")):
            found = foreign_sql_writes(path.read_text(), app, owners)
            if found:
                offences[str(path.relative_to(ROOT))] = found
    # then no statement writes a table another app owns
    assert offences == {}


def test_a_web_worker_loads_no_model_library_with_the_routes():
    # given a fresh interpreter with the project's settings (as a web worker starts)
    code = (
        "import sys, django; django.setup(); import config.urls; "
        "print(sorted(m for m in ('lightgbm', 'xgboost', 'sklearn', 'scipy') if m in sys.modules))"
    )
    # when it imports the URLconf (every route's module, as the first request does)
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # then no model library was loaded: they cost each worker seconds at its first request and 80 MB it never uses
    # (they load with a model: training and scoring)
    assert loaded == "[]"
