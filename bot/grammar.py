"""The ``/post`` grammar: what each subcommand takes, and parsers into plain values.

Each parser raises :class:`UsageError` with a specific sentence and the subcommand's usage,
so a mistyped command always gets an answer that shows the right form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import networks, outbound, reading
from bot.errors import NotFound, UsageError
from bot.mrkdwn import code
from bot.policy import ROLES
from bot.workspace import BrandPolicy


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: tuple[str, ...]
    summary: str
    admin: bool = False


SUBCOMMANDS: dict[str, Subcommand] = {
    s.name: s
    for s in (
        Subcommand("help", ("/post help",), "show this help"),
        Subcommand("draft", ("/post draft [text]",), "draft a post (opens a form)"),
        Subcommand("edit", ("/post edit ID",), "change a post (its author or an admin)"),
        Subcommand("cancel", ("/post cancel ID",), "cancel a post (its author or an admin)"),
        Subcommand("show", ("/post show ID",), "a post, its status and history"),
        Subcommand("list", ("/post list [mine|pending|scheduled]",), "your posts, or what waits"),
        Subcommand("guide", ("/post guide [brand:NAME]",), "a brand's guide: voice, rules, links"),
        Subcommand(
            "style",
            ("/post style [brand:NAME]",),
            "edit a brand's guide (opens a form)",
            admin=True,
        ),
        Subcommand(
            "role",
            (
                "/post role add @user ROLE [NETWORK …] [brand:NAME]",
                "/post role remove @user ROLE [NETWORK …] [brand:NAME]",
                "/post role list",
            ),
            "who may approve, publish, handle support, or act as a client. "
            f"Roles: {', '.join(ROLES)}",
            admin=True,
        ),
        Subcommand(
            "brand",
            (
                "/post brand add NAME [client-approval] [any|all] [self-approval] "
                "[reply-approval] [webhook:URL]",
                "/post brand set NAME [client-approval|no-client-approval] [any|all] "
                "[self-approval|no-self-approval] [reply-approval|no-reply-approval] "
                "[webhook:URL|webhook:off|webhook:new-secret]",
                "/post brand list",
            ),
            "brands (clients) and their approval policy; `reply-approval`: a reply from a "
            "ticket's card is approved by an approver of its network before it is sent",
            admin=True,
        ),
        Subcommand(
            "approvals",
            ("/post approvals #channel [NETWORK …] [brand:NAME] [stage:client]", "/post approvals"),
            "where approval requests go (no arguments: show the current channels)",
            admin=True,
        ),
        Subcommand(
            "calendar",
            (
                "/post calendar [today|tomorrow|week|this-week|next-week|YYYY-MM-DD] [NETWORK] "
                "[brand:NAME]",
                "/post calendar ics [rotate]",
            ),
            "what goes out when, in your time zone (admins: the link for calendar apps)",
        ),
        Subcommand(
            "digest",
            (
                "/post digest",
                "/post digest #channel HH:MM [Area/City] [brand:NAME]",
                "/post digest off #channel",
                "/post digest list",
            ),
            "preview today's digest; admins schedule one per channel (local time and zone)",
        ),
        Subcommand(
            "route",
            (
                "/post route add :emoji: #channel [priority:high] [remind:30m] [escalate:4h] "
                "[escalate-to:#channel] [brand:NAME]",
                "/post route remove :emoji:",
                "/post route list",
            ),
            "complaint routes: react with the emoji on any message to open a ticket",
            admin=True,
        ),
        Subcommand(
            "rota",
            ("/post rota #channel @a @b …", "/post rota #channel off"),
            "who takes a channel's new tickets, in turn",
            admin=True,
        ),
        Subcommand(
            "tickets",
            ("/post tickets [open|mine]",),
            "open tickets, or yours. A ticket opened on a network's mention in the inbox has "
            "*Reply…* on its card: support people for the brand (or admins) answer in the "
            "network's thread as the brand's account",
        ),
        Subcommand(
            "report",
            (
                "/post report [week|month] [brand:NAME]",
                "/post report weekly #channel Mon 09:00 [Area/City] [brand:NAME]",
                "/post report weekly off #channel",
                "/post report weekly list",
            ),
            "the team report with a chart and a CSV (posted here when an admin asks in a "
            "channel not shared with another organisation, otherwise sent to you by DM): "
            "posts drafted, approved, rejected, expired and published (per network and brand), "
            "approval turnaround, approval to live per network, and ticket times (to first "
            "assignment, resolution and first reply on the network; median and "
            "p90, nearest rank; per stage and person), against the period before. `week`: the "
            "7 whole days to last midnight in your time zone; `month`: the 30. For admins and "
            "people with a role; admins schedule it weekly",
        ),
        Subcommand(
            "account",
            (
                "/post account add bluesky|mastodon [brand:NAME]",
                "/post account remove bluesky|mastodon [brand:NAME]",
                "/post account list",
            ),
            "the brands' own network accounts, which Postroom publishes to",
            admin=True,
        ),
        Subcommand(
            "inbox",
            (
                "/post inbox #channel [brand:NAME]",
                "/post inbox off #channel",
                "/post inbox list",
            ),
            "where mentions of, replies to and quotes of the brand's network accounts arrive "
            "(polled every minute; each once, in order)",
            admin=True,
        ),
        Subcommand(
            "drafting",
            ("/post drafting [anyone|roles]",),
            "who may draft: anyone (the default), or only people with a Postroom role",
            admin=True,
        ),
    )
}


def usage(name: str) -> str:
    return "\n".join(f"`{line}`" for line in SUBCOMMANDS[name].usage)


@dataclass(frozen=True)
class Invocation:
    name: str
    args: list[str]
    rest: str = ""  # the raw text after the subcommand (for /post draft)


def split(text: str) -> Invocation:
    """``role add <@U1> approver`` → ``Invocation("role", ["add", "<@U1>", "approver"])``."""
    words = reading.tokens(text)
    if not words:
        return Invocation("help", [])
    parts = (text or "").strip().split(None, 1)
    return Invocation(words[0].lower(), words[1:], parts[1] if len(parts) > 1 else "")


def post_id(args: list[str], name: str) -> int:
    use = usage(name)
    if len(args) != 1:
        raise UsageError("Name one post by its number, like `12`.", use)
    digits = args[0].lstrip("#")
    number = reading.record_id(digits)
    if number is None:
        if digits.isascii() and digits.isdigit():  # too many digits for any post
            raise NotFound(f"There is no post #{reading.shown(digits)}.")
        raise UsageError(f"{reading.shown(args[0])} isn't a post number.", use)
    return number


LISTS = ("mine", "pending", "scheduled")


def list_kind(args: list[str]) -> str:
    which = args[0].lower() if args else "mine"
    if len(args) > 1 or which not in LISTS:
        guess = reading.suggest(which, list(LISTS))
        hint = f" Did you mean `{guess}`?" if guess else ""
        raise UsageError(f"{code(' '.join(args))} isn't a list.{hint}", usage("list"))
    return which


def brand_option(args: list[str], name: str) -> str:
    """``[brand:NAME]`` (default brand when absent)."""
    use = usage(name)
    if not args:
        return "default"
    opt = reading.option(args[0]) if len(args) == 1 else None
    if not opt or opt[0] != "brand":
        raise UsageError(f"{code(' '.join(args))}: expected `brand:NAME` or nothing.", use)
    return reading.brand_name(opt[1], use)


def unknown(name: str) -> UsageError:
    guess = reading.suggest(name, list(SUBCOMMANDS))
    hint = f" Did you mean `/post {guess}`?" if guess else ""
    return UsageError(
        f"{reading.shown('/post ' + name)} isn't a Postroom command.{hint} "
        "Type `/post help` to see them all."
    )


# --- roles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleChange:
    user_id: str
    role: str
    networks: frozenset[str] | None  # None: none named
    brand: str | None


def parse_role_change(args: list[str]) -> RoleChange:
    use = usage("role")
    if len(args) < 2:
        raise UsageError("Name a person and a role.", use)
    user_id = reading.user_id(args[0], use)
    role = args[1].lower()
    if role not in ROLES:
        guess = reading.suggest(role, list(ROLES))
        hint = f" Did you mean `{guess}`?" if guess else ""
        raise UsageError(f"{code(args[1])} isn't a role.{hint} Roles: {', '.join(ROLES)}.", use)
    nets, brand = _scope(args[2:], use, allowed_options=("brand",))
    return RoleChange(user_id, role, nets, brand.get("brand"))


# --- brands -------------------------------------------------------------------------------

FLAGS = {
    "client-approval": ("client_approval", True),
    "no-client-approval": ("client_approval", False),
    "self-approval": ("self_approval", True),
    "no-self-approval": ("self_approval", False),
    "reply-approval": ("reply_approval", True),
    "no-reply-approval": ("reply_approval", False),
    "any": ("approval_mode", "any"),
    "all": ("approval_mode", "all"),
}


def parse_brand(args: list[str]) -> tuple[str, BrandPolicy]:
    use = usage("brand")
    if not args:
        raise UsageError("Name the brand.", use)
    name = reading.brand_name(args[0], use)
    values: dict[str, object] = {}
    for word in args[1:]:
        opt = reading.option(word)
        if opt and opt[0] == "webhook":
            if opt[1].strip().lower() == NEW_SECRET:
                values["new_webhook_secret"] = True
            else:
                values["webhook_url"] = _webhook(opt[1], use)
            continue
        flag = FLAGS.get(word.lower())
        if flag is None:
            guess = reading.suggest(word, list(FLAGS) + ["webhook:"])
            hint = f" Did you mean `{guess}`?" if guess else ""
            raise UsageError(f"{code(word)} isn't a brand setting.{hint}", use)
        values[flag[0]] = flag[1]
    return name, BrandPolicy(**values)  # type: ignore[arg-type]


NEW_SECRET = "new-secret"  # webhook:new-secret replaces the signing secret, shown once


def _webhook(url: str, use: str) -> str:
    url = url.strip("<>").split("|")[0]  # Slack wraps URLs as <https://…>
    if url.lower() == "off":
        return ""
    try:  # the address is vetted when it is saved (bot.workspace)
        return outbound.check(url, "The webhook").url
    except outbound.OutboundRefused as refused:
        guess = None if "/" in url else reading.suggest(url, [NEW_SECRET, "off"])
        hint = f" Did you mean `webhook:{guess}`?" if guess else ""
        raise UsageError(str(refused) + hint, use) from refused


# --- approvals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalsChannel:
    channel: reading.ChannelRef
    networks: frozenset[str]
    brand: str | None
    stage: str


def parse_approvals(args: list[str]) -> ApprovalsChannel:
    use = usage("approvals")
    channel = reading.channel(args[0], use)
    nets, options = _scope(args[1:], use, allowed_options=("brand", "stage"))
    stage = options.get("stage", "team").lower()
    if stage not in ("team", "client"):
        raise UsageError(
            f"{code('stage:' + stage)} isn't a stage; use `stage:client` (or leave it out).", use
        )
    return ApprovalsChannel(channel, nets or frozenset(), options.get("brand"), stage)


# --- shared -------------------------------------------------------------------------------


def _scope(
    args: list[str], use: str, allowed_options: tuple[str, ...]
) -> tuple[frozenset[str] | None, dict[str, str]]:
    """Networks and ``key:value`` options, refusing anything else by name."""
    nets: set[str] = set()
    options: dict[str, str] = {}
    for word in args:
        opt = reading.option(word)
        if opt:
            key, value = opt
            if key not in allowed_options:
                allowed = ", ".join(f"`{k}:…`" for k in allowed_options)
                raise UsageError(
                    f"{code(key + ':')} isn't an option here (options: {allowed}).", use
                )
            options[key] = reading.brand_name(value, use) if key == "brand" else value
            continue
        network = networks.canonical(word)
        if network is None:
            guess = reading.suggest(word, list(networks.NETWORKS) + list(networks.ALIASES))
            hint = f" Did you mean `{guess}`?" if guess else ""
            raise UsageError(
                f"{code(word)} isn't a network.{hint} Networks: {', '.join(networks.NETWORKS)}.",
                use,
            )
        nets.add(network)
    return (frozenset(nets) if nets else None), options


def drafting_choice(args: list[str]) -> str | None:
    if not args:
        return None
    choice = args[0].lower()
    if len(args) > 1 or choice not in ("anyone", "roles"):
        raise UsageError(f"{code(' '.join(args))}: say `anyone` or `roles`.", usage("drafting"))
    return choice


@dataclass(frozen=True)
class DigestCommand:
    action: str  # "preview", "list", "off", "set"
    channel: reading.ChannelRef | None = None
    at_time: str = ""
    tz: str | None = None
    brand: str | None = None


def _zone_and_brand(words: list[str], use: str) -> tuple[str | None, str | None]:
    """The optional ``[Area/City] [brand:NAME]`` after a schedule's time."""
    tz = brand = None
    for word in words:
        opt = reading.option(word)
        if opt and opt[0] == "brand":
            brand = reading.brand_name(opt[1], use)
        elif tz is None and not opt:
            tz = word
        else:
            raise UsageError(
                f"{code(word)}: expected a time zone like `Europe/Madrid` or `brand:NAME`.", use
            )
    return tz, brand


def parse_digest(args: list[str]) -> DigestCommand:
    use = usage("digest")
    if not args:
        return DigestCommand("preview")
    first = args[0].lower()
    if first == "list" and len(args) == 1:
        return DigestCommand("list")
    if first == "off":
        if len(args) != 2:
            raise UsageError("Name the channel: `/post digest off #channel`.", use)
        return DigestCommand("off", reading.channel(args[1], use))
    channel = reading.channel(args[0], use)
    if len(args) < 2:
        raise UsageError("Give the local time too, like `09:00`.", use)
    tz, brand = _zone_and_brand(args[2:], use)
    return DigestCommand("set", channel, args[1], tz, brand)


EMOJI = re.compile(r"^:([a-z0-9_+'-]+):$")


MAX_EMOJI = 100  # Slack's emoji names are far shorter; the route's column holds 100


def emoji(token: str, use: str) -> str:
    match = EMOJI.match(token.strip().lower())
    if match and len(match.group(1)) > MAX_EMOJI:
        raise UsageError(
            f"{reading.shown(token)} is too long for an emoji name ({len(match.group(1))} "
            f"characters; Slack's are at most {MAX_EMOJI}).",
            use,
        )
    if not match:
        raise UsageError(
            f"{reading.shown(token)} isn't an emoji. Type it with colons, like `:rotating_light:`.",
            use,
        )
    return match.group(1)


def parse_route(args: list[str]):
    """``add :emoji: #channel [options]`` → RouteSpec; ``remove :emoji:``; ``list``."""
    from bot.tickets import PRIORITIES, RouteSpec, minutes

    use = usage("route")
    action = args[0].lower() if args else ""
    if action == "list" and len(args) == 1:
        return "list", None
    if action == "remove" and len(args) == 2:
        return "remove", emoji(args[1], use)
    if action != "add":
        raise UsageError("Say `add`, `remove` or `list`.", use)
    if len(args) < 3:
        raise UsageError("Name the emoji and the channel.", use)
    name, channel = emoji(args[1], use), reading.channel(args[2], use)
    values: dict[str, object] = {}
    for word in args[3:]:
        opt = reading.option(word) or (
            ("escalate-to", word.split(":", 1)[1]) if word.startswith("escalate-to:") else None
        )
        if opt is None:
            raise UsageError(f"{code(word)} isn't an option here.", use)
        key, value = opt
        if key == "priority":
            if value.lower() not in PRIORITIES:
                raise UsageError(f"{code(value)} isn't a priority: {', '.join(PRIORITIES)}.", use)
            values["priority"] = value.lower()
        elif key == "remind":
            values["remind_minutes"] = minutes(value, "remind")
        elif key == "escalate":
            values["escalate_minutes"] = minutes(value, "escalate")
        elif key == "escalate-to":
            values["escalate_to"] = reading.channel(value, use).id
        elif key == "brand":
            values["brand"] = reading.brand_name(value, use)
        else:
            raise UsageError(f"{code(key + ':')} isn't an option here.", use)
    return "add", RouteSpec(name, channel.id, **values)  # type: ignore[arg-type]


def parse_rota(args: list[str]):
    use = usage("rota")
    if not args:
        raise UsageError("Name the channel and the people, in order.", use)
    channel = reading.channel(args[0], use)
    if len(args) == 2 and args[1].lower() == "off":
        return channel, None
    if len(args) < 2:
        raise UsageError("Name the people, in order: `/post rota #support @a @b`.", use)
    people = [reading.user_id(word, use) for word in args[1:]]
    return channel, list(dict.fromkeys(people))


def tickets_kind(args: list[str]) -> str:
    which = args[0].lower() if args else "open"
    if len(args) > 1 or which not in ("open", "mine"):
        raise UsageError(f"{code(' '.join(args))}: say `open` or `mine`.", usage("tickets"))
    return which


@dataclass(frozen=True)
class ReportCommand:
    action: str  # "run", "weekly", "weekly-off", "weekly-list"
    kind: str = "week"  # run: "week" or "month"
    brand: str | None = None
    channel: reading.ChannelRef | None = None
    weekday: str = ""
    at_time: str = ""
    tz: str | None = None


REPORT_PERIODS = ("week", "month")


def parse_report(args: list[str]) -> ReportCommand:
    use = usage("report")
    if args and args[0].lower() == "weekly":
        return _parse_weekly(args[1:], use)
    kind, brand = "week", None
    for word in args:
        opt = reading.option(word)
        if opt and opt[0] == "brand":
            brand = reading.brand_name(opt[1], use)
        elif not opt and word.lower() in REPORT_PERIODS:
            kind = word.lower()
        else:
            guess = reading.suggest(word.lower(), [*REPORT_PERIODS, "weekly"])
            hint = f" Did you mean `{guess}`?" if guess else ""
            raise UsageError(
                f"{code(word)} isn't a period or an option.{hint} Say `week` or `month`, "
                "optionally with `brand:NAME`.",
                use,
            )
    return ReportCommand("run", kind, brand)


def _parse_weekly(args: list[str], use: str) -> ReportCommand:
    first = args[0].lower() if args else ""
    if first == "list" and len(args) == 1:
        return ReportCommand("weekly-list")
    if first == "off":
        if len(args) != 2:
            raise UsageError("Name the channel: `/post report weekly off #channel`.", use)
        return ReportCommand("weekly-off", channel=reading.channel(args[1], use))
    if not args:
        raise UsageError("Name the channel, the day and the local time.", use)
    channel = reading.channel(args[0], use)
    if len(args) < 3:
        raise UsageError("Give the day and the local time too, like `Mon 09:00`.", use)
    tz, brand = _zone_and_brand(args[3:], use)
    return ReportCommand(
        "weekly", channel=channel, weekday=args[1], at_time=args[2], tz=tz, brand=brand
    )


# --- network accounts ----------------------------------------------------------------------

ACCOUNT_NETWORKS = ("bluesky", "mastodon")


@dataclass(frozen=True)
class AccountCommand:
    action: str  # add | remove | list
    network: str = ""
    brand: str = "default"


def parse_account(args: list[str]) -> AccountCommand:
    """``add|remove mastodon [brand:NAME]`` or ``list``."""
    use = usage("account")
    action = args[0].lower() if args else ""
    if action == "list":
        if len(args) > 1:
            raise UsageError("`/post account list` takes nothing after it.", use)
        return AccountCommand("list")
    if action not in ("add", "remove"):
        guess = reading.suggest(action, ["add", "remove", "list"]) if action else None
        hint = f" Did you mean `/post account {guess}`?" if guess else ""
        what = (
            f"{code(action)} isn't something `/post account` does."
            if action
            else ("`/post account` needs one of: add, remove, list.")
        )
        raise UsageError(what + hint, use)
    if len(args) < 2:
        raise UsageError(f"Name the network: `/post account {action} bluesky|mastodon`.", use)
    network = networks.canonical(args[1])
    if network not in ACCOUNT_NETWORKS:
        shown = code(args[1][:40])
        raise UsageError(
            f"{shown}: Postroom connects accounts on Bluesky and Mastodon only so far "
            "(other networks publish through a brand's webhook or by hand).",
            use,
        )
    return AccountCommand(action, network, brand_option(args[2:], "account"))


# --- the social inbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class InboxCommand:
    action: str  # set | off | list
    channel: reading.ChannelRef | None = None
    brand: str = "default"


def parse_inbox(args: list[str]) -> InboxCommand:
    """``#channel [brand:NAME]``, ``off #channel`` or ``list``."""
    use = usage("inbox")
    first = args[0].lower() if args else ""
    if first == "list":
        if len(args) > 1:
            raise UsageError("`/post inbox list` takes nothing after it.", use)
        return InboxCommand("list")
    if first == "off":
        if len(args) != 2:
            raise UsageError("Name the channel: `/post inbox off #channel`.", use)
        return InboxCommand("off", reading.channel(args[1], use))
    if not args:
        raise UsageError("Name the channel: `/post inbox #channel [brand:NAME]`.", use)
    if not args[0].startswith(("<#", "#")):
        guess = reading.suggest(first, ["list", "off"])
        hint = f" Did you mean `/post inbox {guess}`?" if guess else ""
        raise UsageError(f"{code(args[0][:40])} isn't a channel.{hint}", use)
    return InboxCommand("set", reading.channel(args[0], use), brand_option(args[1:], "inbox"))
