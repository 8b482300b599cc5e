"""The layering of ARCHITECTURE.md, checked by import-linter's contracts in ``pyproject.toml``.

The first test runs the contracts over this checkout: a wrong import anywhere fails the suite. The others
prove that the contracts can fail: they copy the packages into a temporary folder, add one wrong import of the
kind the contracts forbid, and expect import-linter to name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("energy_coop", "web", "jobs", "migrations")
CONTRACTS = 5


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter over the packages under ``root`` with the contracts of ``root/pyproject.toml``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache", "--no-logo"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_import_contracts_are_kept():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {CONTRACTS} kept, 0 broken." in result.stdout


@pytest.fixture
def copy_of_the_house(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates", "static")
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.mark.parametrize(
    ("module", "line", "contract", "named"),
    [
        # the allocation arithmetic reaching for the database
        ("energy_coop.calc.credits.allocation", "from energy_coop.models import Member  # noqa",
         "calc is pure arithmetic", "energy_coop.calc.credits.allocation -> energy_coop.models"),
        # a service that renders with Flask
        ("energy_coop.services.credits.ledger", "import flask  # noqa",
         "The domain knows nothing of the web", "energy_coop.services.credits.ledger -> flask"),
        # a model that reaches up into a service (an import that runs back up the layers)
        ("energy_coop.models.ledger", "from energy_coop.services.credits import ledger  # noqa",
         "Layers", "energy_coop.models.ledger -> energy_coop.services.credits.ledger"),
        # the scheduler's bookkeeping used by a service
        ("energy_coop.services.metering.imports", "import jobs.runner  # noqa",
         "The domain knows nothing of the web", "energy_coop.services.metering.imports -> jobs.runner"),
        # a service formatting money for a page instead of returning cents
        ("energy_coop.services.credits.statements", "from energy_coop import formatting  # noqa",
         "page formatting", "energy_coop.services.credits.statements -> energy_coop.formatting"),
        # a service rendering a statement PDF itself (documents sit above the services)
        ("energy_coop.services.credits.issued", "from energy_coop.documents import statements  # noqa",
         "Layers", "energy_coop.services.credits.issued -> energy_coop.documents.statements"),
        # the statement renderer reaching for the web
        ("energy_coop.documents.statements", "import flask  # noqa",
         "Documents render files for people", "energy_coop.documents.statements -> flask"),
    ],
    ids=["calc-imports-models", "service-imports-flask", "model-imports-service", "service-imports-jobs",
         "service-imports-formatting", "service-imports-documents", "documents-import-flask"],
)
def test_a_wrong_import_is_caught(copy_of_the_house: Path, module: str, line: str, contract: str, named: str):
    assert lint(copy_of_the_house).returncode == 0, "the copy must start clean"
    add_import(copy_of_the_house, module, line)
    result = lint(copy_of_the_house)
    assert result.returncode != 0
    broken = " ".join(result.stdout.split("Broken contracts", 1)[1].split())  # the console wraps long lines
    assert contract in broken
    assert named in broken, broken
