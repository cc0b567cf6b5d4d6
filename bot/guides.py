"""Brand guides (§12): voice and tone, the style rules validation enforces, links to the
strategy and asset folders, and the complaint playbook. Admins edit; everyone reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot import posts, workspace
from bot.caller import Caller
from bot.errors import ValidationFailed
from bot.networks import DEFAULT_RULES, apply_overrides
from bot.validation import is_http_url
from storage import repo
from storage.db import Database
from storage.models import Brand, BrandGuide

MAX_HASHTAGS_CEILING = 30


@dataclass(frozen=True)
class GuideInput:
    """What the style modal collects, as typed."""

    voice: str = ""
    banned: str = ""
    required_hashtags: str = ""
    max_hashtags: str = ""
    network_limits: str = ""
    strategy_url: str = ""
    assets_url: str = ""
    playbook: str = ""


def read(db: Database, team_id: str, brand_name: str) -> tuple[Brand, BrandGuide | None]:
    brand = posts.brand_named(db, team_id, brand_name)
    with db.read() as session:
        return brand, repo.get_guide(session, brand.id)  # type: ignore[arg-type]


def save(
    db: Database,
    caller: Caller,
    now: datetime,
    brand_name: str,
    given: GuideInput,
) -> BrandGuide:
    """Check and store a brand's guide; problems come back by modal field."""
    workspace.require_admin(caller, "edit brand guides")
    brand = posts.brand_named(db, caller.team_id, brand_name)
    guide = BrandGuide(
        brand_id=brand.id,  # type: ignore[arg-type]
        team_id=caller.team_id,
        voice=given.voice.strip(),
        banned="\n".join(line.strip() for line in given.banned.splitlines() if line.strip()),
        required_hashtags=" ".join(_hashtags(given.required_hashtags)),
        max_hashtags=_max_hashtags(given.max_hashtags),
        network_limits=_limits(given.network_limits),
        strategy_url=_url(given.strategy_url, "strategy_url"),
        assets_url=_url(given.assets_url, "assets_url"),
        playbook=given.playbook.strip(),
        updated_by=caller.user_id,
        updated_at=now,
    )
    with db.write() as session:
        repo.save_guide(session, guide)
        repo.audit(
            session,
            caller.team_id,
            "brand",
            brand.name,
            caller.user_id,
            "guide",
            now,
            to_state="guide saved",
        )
    return guide


def _hashtags(text: str) -> list[str]:
    tags = []
    for word in text.replace(",", " ").split():
        tag = "#" + word.lstrip("#")
        if len(tag) < 2 or not all(c.isalnum() or c == "_" for c in tag[1:]):
            raise ValidationFailed(
                f"{word} isn't a hashtag", fields={"required_hashtags": f"{word} isn't a hashtag"}
            )
        tags.append(tag)
    return tags


def _max_hashtags(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_HASHTAGS_CEILING:
        message = f"A whole number from 0 to {MAX_HASHTAGS_CEILING}, or empty for no limit"
        raise ValidationFailed(message, fields={"max_hashtags": message})
    return int(text)


def _limits(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    example = 'Like {"mastodon": {"text_limit": 1000}}'
    try:
        overrides = json.loads(text)
        if not isinstance(overrides, dict):
            raise ValueError(f"Expected a JSON object. {example}")
        apply_overrides(DEFAULT_RULES, overrides)
    except json.JSONDecodeError as error:
        message = f"Not valid JSON ({error.msg}). {example}"
        raise ValidationFailed(message, fields={"network_limits": message}) from error
    except ValueError as error:
        raise ValidationFailed(str(error), fields={"network_limits": str(error)}) from error
    return json.dumps(overrides, sort_keys=True)


def _url(text: str, field: str) -> str:
    """An http(s) link that can't break out of Slack's ``<url|label>`` link markup."""
    text = text.strip()
    if text and (not is_http_url(text) or any(c in text for c in '<>|" \t\n')):
        message = "An http(s) link without spaces, <, > or |, e.g. https://drive.google.com/…"
        raise ValidationFailed(message, fields={field: message})
    return text
