"""What ``manifest.yml`` (the one list of what the app asks Slack for) says, for the code
that needs it: ``postroom check`` compares the granted scopes with it, and the stand-in
grants exactly those."""

from __future__ import annotations

from functools import cache
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


@cache
def bot_scopes(path: Path = MANIFEST) -> tuple[str, ...]:
    """The bot scopes the manifest asks for (read without a YAML library: the list under
    ``oauth_config: scopes: bot:``, one ``- scope`` a line)."""
    scopes: list[str] = []
    inside, indent = False, 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped.strip() == "bot:":
            inside, indent = True, len(stripped) - len(stripped.lstrip())
            continue
        if not inside or not stripped.strip():
            continue
        if len(stripped) - len(stripped.lstrip()) <= indent:
            break
        if stripped.strip().startswith("- "):
            scopes.append(stripped.strip()[2:].strip().strip("\"'"))
    return tuple(scopes)
