"""The layers of ``../shared/DESIGN.md`` ("The house"), read from the modules' imports with
``ast``: the rules in ``bot/`` never reach Slack, ``Services`` or a network's client; only
``handlers/``, ``bot/flows/`` and the wiring listed here take ``Services``; the builders in
``bot/blocks/`` only build; nothing in ``bot/`` imports ``handlers/``; and no module of
``bot/`` or ``handlers/`` builds or runs SQL, or adds or deletes a row: every query and every
write is in ``storage/``.

Every module of ``bot/`` not listed as Slack's side is a rules module, so a new one is held
to the rules until it is placed here on purpose."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

# Modules of bot/ that may take Services or talk to Slack: the flows, and the wiring around
# them (start-up, the HTTP and Socket Mode edge, the Slack gateway and the people directory
# it serves, the scheduled and background work that calls the flows).
SLACK_SIDE = {
    "bot/__main__.py",
    "bot/app.py",
    "bot/edge.py",
    "bot/web.py",
    "bot/slack.py",
    "bot/services.py",
    "bot/people.py",
    "bot/lifecycle.py",
    "bot/scheduler.py",
    "bot/work.py",
    "bot/jobs.py",
    "bot/runs.py",
}

SLACK = ("bot.services", "bot.slack", "bot.flows", "slack_sdk", "slack_bolt", "handlers")
NETWORK_CLIENTS = ("mastodon", "atproto")


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, and each name it imports from one (``from bot import
    slack`` imports ``bot.slack``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def reaching(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in imports(path)
        if any(name == root or name.startswith(root + ".") for root in forbidden)
    )


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def modules(folder: Path, pattern: str = "*.py") -> list[str]:
    return sorted(relative(p) for p in folder.glob(pattern))


RULES = [m for m in modules(BOT) if m not in SLACK_SIDE]
NETWORKS = modules(BOT / "networks")
BLOCKS = modules(BOT / "blocks")
FLOWS = modules(BOT / "flows")


def test_the_named_rules_modules_are_held_to_the_rules():
    for name in (
        "posts",
        "tickets",
        "digest",
        "publishing",
        "reports",
        "policy",
        "calendar",
        "validation",
        "workspace",
        "grammar",
        "reading",
    ):
        assert f"bot/{name}.py" in RULES
    assert "bot/networks/limits.py" in NETWORKS
    assert "bot/flows/posts.py" in FLOWS


@pytest.mark.parametrize("module", RULES)
def test_a_rules_module_never_reaches_slack_services_or_a_network_client(module):
    assert reaching(ROOT / module, SLACK + NETWORK_CLIENTS) == []


@pytest.mark.parametrize("module", NETWORKS)
def test_the_networks_never_reach_slack_or_services(module):
    # The adapters are where a network's client belongs; Slack and Services are not.
    assert reaching(ROOT / module, SLACK) == []


@pytest.mark.parametrize("module", BLOCKS)
def test_a_builder_only_builds(module):
    assert reaching(ROOT / module, ("bot.services", "bot.slack", "bot.flows", "handlers")) == []


@pytest.mark.parametrize("module", FLOWS)
def test_a_flow_never_imports_the_listeners(module):
    assert reaching(ROOT / module, ("handlers", "slack_bolt")) == []


def test_the_rule_is_read_from_the_imports():
    """The check sees each way of importing Slack's side, so a pass means something."""
    assert reaching(BOT / "flows" / "workspace.py", SLACK) == [
        "bot.flows",
        "bot.flows.reports",
        "bot.services",
        "bot.services.Services",
        "bot.slack",
        "bot.slack.archived",
    ]
    assert "slack_sdk.WebClient" in reaching(BOT / "services.py", SLACK)


# --- every query in storage/ ----------------------------------------------------------------

# What of the database's libraries bot/ and handlers/ may import: a Session as a type, for a
# function that takes the caller's transaction to pass to storage.repo (it builds nothing).
SQL_ALLOWED = {"sqlmodel.Session"}
SQL_LIBRARIES = ("sqlalchemy", "sqlmodel")
# Calls that run a statement (a Session's or a Connection's), or load a row by its key.
RUNNING = {"exec", "execute", "exec_driver_sql", "scalar", "scalars", "query"}
HOLDERS = {"session", "connection", "conn"}
# A session's calls that write a row (a new or changed one, or its removal) at the next flush.
WRITING = {"add", "add_all", "delete", "merge"}

ABOVE_STORAGE = sorted(
    relative(p) for folder in (BOT, ROOT / "handlers") for p in folder.rglob("*.py")
)


def sql_imports(path: Path) -> list[str]:
    """What ``path`` imports of the database's libraries, name by name (``import sqlalchemy``
    as itself, ``from sqlmodel import select`` as ``sqlmodel.select``), less the allowed."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return sorted(
        name
        for name in found - SQL_ALLOWED
        if any(name == root or name.startswith(root + ".") for root in SQL_LIBRARIES)
    )


def runs_sql(path: Path) -> list[str]:
    """Each call in ``path`` that runs a statement, gets a row or writes one
    (``session.exec(...)``, ``connection.execute(...)``, ``session.get(Model, id)``,
    ``session.add(row)``, ``session.delete(row)``), as ``line: call``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named = owner.id if isinstance(owner, ast.Name) else ""
        held = named in HOLDERS and node.func.attr in WRITING | {"get"}
        if node.func.attr in RUNNING or held:
            found.append(f"{node.lineno}: {ast.unparse(node.func)}")
    return found


@pytest.mark.parametrize("module", ABOVE_STORAGE)
def test_no_module_above_storage_builds_sql(module):
    assert sql_imports(ROOT / module) == []


@pytest.mark.parametrize("module", ABOVE_STORAGE)
def test_no_module_above_storage_runs_a_statement(module):
    assert runs_sql(ROOT / module) == []


def test_the_sql_check_sees_a_query(tmp_path):
    """The checks above see a query built and run the ways storage/ does, so a pass means
    something."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlmodel import Session, select\n"
        "from sqlalchemy import func\n"
        "import sqlalchemy.orm\n"
        "def f(session, connection, seen):\n"
        "    session.exec(select(1))\n"
        "    connection.execute(func.now())\n"
        "    row = session.get(int, 1)\n"
        "    session.add(row)\n"
        "    session.delete(row)\n"
        "    seen.add(row)\n"
        "    return row\n"
    )
    assert sql_imports(sample) == ["sqlalchemy.func", "sqlalchemy.orm", "sqlmodel.select"]
    assert runs_sql(sample) == [
        "5: session.exec",
        "6: connection.execute",
        "7: session.get",
        "8: session.add",
        "9: session.delete",
    ]
    assert len(ABOVE_STORAGE) > 40 and "handlers/actions.py" in ABOVE_STORAGE
