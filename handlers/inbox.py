"""``/post inbox …``: an admin sets the channel a brand's network mentions and replies
arrive in (PRODUCT.md §14), turns it off, or lists the inboxes with their accounts' state."""

from __future__ import annotations

from bot import grammar, inbox
from bot.blocks import inbox as inbox_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.flows import workspace as workspace_flow
from bot.services import Services


def inbox_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    parsed = grammar.parse_inbox(invocation.args)
    now = services.clock.now()
    if parsed.action == "list":
        respond(**inbox_blocks.inbox_list(inbox.list_inboxes(services.db, caller)))
        return
    channel_id = parsed.channel.id  # type: ignore[union-attr]
    if parsed.action == "off":
        brands = inbox.remove_inbox(services.db, caller, now, channel_id)
        names = ", ".join(brands)
        respond(
            **post_blocks.dm(
                f"No more mentions arrive in <#{channel_id}> (brand{'s' if len(brands) > 1 else ''}"
                f" {names}). What already arrived stays there."
            )
        )
        return
    inbox.check_may_set(services.db, caller, parsed.brand)  # before joining
    joined = workspace_flow.ensure_can_post(services, channel_id)
    found = inbox.set_inbox(services.db, caller, now, channel_id, parsed.brand)
    note = f" I joined <#{channel_id}> to post there." if joined else ""
    moved = f" (It was <#{found.moved_from}> until now.)" if found.moved_from else ""
    respond(
        **post_blocks.dm(
            f"📥 Mentions of, replies to and quotes of brand {found.brand.name}'s network "
            f"accounts now arrive in <#{channel_id}>, each once, within a minute or so.{moved}"
            f"{note} {inbox.feeders(found.brand, found.accounts)}"
        )
    )
