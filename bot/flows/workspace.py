"""Setting the workspace up meets Slack: making sure the app can post in a channel an admin
picks (approvals, digest, ticket routes and escalations, the weekly report)."""

from __future__ import annotations

from bot.errors import UsageError
from bot.flows import reports as reports_flow
from bot.services import Services
from bot.slack import archived


def ensure_can_post(services: Services, channel_id: str, team_report_of: str | None = None) -> bool:
    """Make sure the app can post in a channel; True when it had to join it.

    A public channel is joined; a private one must invite the app (Slack allows nothing
    else), and an archived one is refused. ``team_report_of``: the workspace whose team
    report will be posted there, to refuse a channel another organisation or a brand's client
    can read. Raises a typed error with the sentence.
    """
    info = services.slack.channel_info(channel_id)
    if info.get("is_archived"):
        raise archived(channel_id, "conversations.info")
    if team_report_of:
        why = reports_flow.readers_refusal(services, team_report_of, info)
        if why:
            raise UsageError(f"{why}. Pick a channel only your team can read.")
    if info.get("is_member"):
        return False
    if info.get("is_private"):
        raise UsageError(
            f"<#{channel_id}> is private: invite me there first with "
            "`/invite @Postroom`, then run the command again."
        )
    services.slack.join(channel_id)
    return True
