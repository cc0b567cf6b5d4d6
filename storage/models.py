"""The tables. Every row carries its workspace's ``team_id``.

Scopes that may be "any" (a role for every brand, an approvals channel for every network)
are stored as a ``scope`` key string with ``*`` for "any", so that uniqueness holds in both
SQLite and PostgreSQL (where NULLs never collide in a unique index).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

# Every constraint and index gets a name, so that a migration can drop or alter it by that
# name on both databases (PostgreSQL's own names and SQLite's unnamed constraints differ, and
# SQLite's batch mode finds a constraint only by name). Names given by hand (uq_brand_name…)
# stay as they are.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable)


class Team(SQLModel, table=True):
    team_id: str = Field(primary_key=True, max_length=32)
    name: str = ""
    drafting: str = "anyone"  # "anyone", or "roles": only people holding a role may draft
    # The calendar feed secret's SHA-256 (bot/vault.py), never the secret itself.
    ics_secret: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_column=utc_column())
    # Set when Slack says the app was removed (app_uninstalled, or the bot token revoked):
    # scheduled work skips the workspace, its data stays; cleared when it talks to us again.
    uninstalled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class KnownUser(SQLModel, table=True):
    """A Slack user the app has seen, with what ``users.info`` said (refreshed hourly)."""

    __tablename__ = "known_user"
    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    name: str = ""
    real_name: str = ""
    tz: str = "UTC"
    is_workspace_admin: bool = False
    is_bot: bool = False
    fetched_at: datetime = Field(sa_column=utc_column())
    # When they last opened Postroom's Home tab: only their Home is kept up to date.
    home_seen_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Brand(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_brand_name"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=40)  # lower-case key, as typed in commands
    client_approval: bool = False
    approval_mode: str = "any"  # "any" or "all" approvers of a stage
    self_approval: bool = False
    # Replies to the network from a ticket's card go through the team stage first
    # (``/post brand set NAME reply-approval``, PRODUCT.md §14).
    reply_approval: bool = False
    webhook_url: str | None = None
    # Signs what is POSTed to the webhook (Standard Webhooks, bot/webhook.py); stored
    # encrypted, "fernet:…" (bot/vault.py: POSTROOM_SECRET_KEY), shown once when made.
    webhook_secret: str | None = None
    # When that secret was made; None for one made by a release before it was kept.
    webhook_secret_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class RoleGrant(SQLModel, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "role", "scope", name="uq_role_grant"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="CASCADE")
    networks: str = ""  # comma-separated canonical network names; "" = every network
    scope: str = Field(max_length=400)  # "<brand id or *>|<networks or *>"
    granted_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class ChannelSetting(SQLModel, table=True):
    """Where things go: the approvals channel for a brand / network / stage."""

    __tablename__ = "channel_setting"
    __table_args__ = (UniqueConstraint("team_id", "purpose", "scope", name="uq_channel_setting"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    purpose: str = Field(max_length=32)  # "approvals"
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="CASCADE")
    network: str = ""  # "" = any network
    stage: str = "team"  # "team" or "client"
    scope: str = Field(max_length=200)  # "<brand id or *>|<network or *>|<stage>"
    channel_id: str = Field(max_length=32)
    set_by: str = ""
    updated_at: datetime = Field(sa_column=utc_column())


class ProcessedEvent(SQLModel, table=True):
    """Events API deliveries already handled (Slack delivers at least once)."""

    __tablename__ = "processed_event"
    team_id: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field(sa_column=utc_column())


class AuditEntry(SQLModel, table=True):
    """Every state change: who, when, what, from, to, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # Reports: what happened to posts in a period, then those posts' whole trails.
        Index("ix_audit_log_entity_at", "team_id", "entity", "at"),
        Index("ix_audit_log_entity_id", "team_id", "entity", "entity_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    entity: str = Field(max_length=16)  # "post", "ticket", "role", "brand", "channel"
    entity_id: str = Field(max_length=64)
    actor: str = Field(max_length=32)
    action: str = Field(max_length=32)
    from_state: str | None = None
    to_state: str | None = None
    comment: str = ""
    at: datetime = Field(sa_column=utc_column())


class Post(SQLModel, table=True):
    """A post, at its current version. Status changes are compare-and-set on (id, status,
    version); see ``repo.transition``."""

    __table_args__ = (
        Index("ix_post_team_scheduled", "team_id", "scheduled_at"),
        Index("ix_post_team_status", "team_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    brand_id: int = Field(foreign_key="brand.id", ondelete="RESTRICT")
    author: str = Field(max_length=32)
    text: str
    networks: str  # comma-separated canonical names
    media_urls: str = ""  # one URL per line
    # JSON list: the alt text of each media URL, in the same order ("" where none was given)
    media_alt: str = "[]"
    notes: str = ""  # notes for the team: never shown to a client
    client_notes: str = ""  # notes for the client (shown at the client stage, and to the team)
    scheduled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    status: str = Field(default="draft", max_length=24, index=True)
    version: int = 1
    stage: str | None = Field(default=None, max_length=16)  # the stage awaiting approval
    warnings: str = ""  # one per line, shown on the approval request
    # When the current stage started waiting, and when its reminder went out (reset with
    # every new stage or version, so each gets one reminder).
    stage_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    published_url: str = ""
    published_by: str = ""  # a user id, or "webhook"
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class Approval(SQLModel, table=True):
    """One approver's approval of one stage of one version of a post."""

    __table_args__ = (
        UniqueConstraint("post_id", "version", "stage", "approver", name="uq_approval"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE", index=True)
    version: int
    stage: str = Field(max_length=16)
    approver: str = Field(max_length=32)
    at: datetime = Field(sa_column=utc_column())
    # Stage team is approved per network: the networks of the post this approval covers
    # (comma-separated, canonical). "" on rows from before per-network approval (an approver
    # then held every network of the post) and at the client stage: the whole post.
    networks: str = ""
    # An admin's "approve as admin" override: its reason ("" for an ordinary approval). It
    # passes the team stage only, never the client's.
    override: str = ""


class ApprovalRequest(SQLModel, table=True):
    """The Slack message that asks for one stage of one version: where it is, so it can be
    updated in place (decided, superseded, expired)."""

    __tablename__ = "approval_request"
    __table_args__ = (UniqueConstraint("post_id", "version", "stage", name="uq_approval_request"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE", index=True)
    version: int
    stage: str = Field(max_length=16)
    channel_id: str = Field(max_length=32)
    ts: str = Field(default="", max_length=32)
    state: str = Field(default="open", max_length=16)  # open, decided, superseded, closed
    # The message as posted (JSON), to close it later exactly as it was; once decided, as it
    # shows the decision (its status line), to add each network's live link under it.
    blocks: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class BrandGuide(SQLModel, table=True):
    """A brand's guide (§12): voice, style rules enforced by validation, links, playbook."""

    __tablename__ = "brand_guide"
    brand_id: int = Field(primary_key=True, foreign_key="brand.id", ondelete="CASCADE")
    team_id: str = Field(max_length=32)
    voice: str = ""
    banned: str = ""  # one word or phrase per line
    required_hashtags: str = ""  # space- or line-separated
    max_hashtags: int | None = None
    network_limits: str = ""  # JSON: {"mastodon": {"text_limit": 1000}}
    strategy_url: str = ""
    assets_url: str = ""
    playbook: str = ""
    updated_by: str = ""
    updated_at: datetime = Field(sa_column=utc_column())


class DigestSetting(SQLModel, table=True):
    """A channel's daily digest: local time and IANA zone (and optionally one brand)."""

    __tablename__ = "digest_setting"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_digest_setting"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    channel_id: str = Field(max_length=32)
    at_time: str = Field(max_length=5)  # "HH:MM", local
    tz: str = Field(max_length=64)  # IANA, e.g. "Europe/Madrid"
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="CASCADE")
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class DigestRun(SQLModel, table=True):
    """One digest of one channel for one local date: its outcome (sent, skipped or failed),
    recorded once by the scheduled job that did it (bot.runs); the unique key keeps a unit
    that has a record from being enqueued again. ("claimed": rows of earlier releases, whose
    own claim held the run; ``claimed_at`` is now when it was recorded.)"""

    __tablename__ = "digest_run"
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id", "local_date", name="uq_digest_run"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    local_date: str = Field(max_length=10)  # YYYY-MM-DD in the setting's zone
    due_at: datetime = Field(sa_column=utc_column())
    status: str = Field(default="claimed", max_length=16)  # sent, skipped, failed
    # The token of the job that recorded it (its owner); "" on rows from before.
    token: str = Field(default="", max_length=32)
    ts: str = ""
    note: str = ""
    claimed_at: datetime = Field(sa_column=utc_column())  # or last renewed
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Publication(SQLModel, table=True):
    """One network of one approved version at its time: claimed once, then published by the
    network's adapter (a webhook delivery with retries, later a network's API) or handed to
    its publishers, until it is marked published (or failed, with the reason).

    Rows from before per-network publishing have ``network`` "" (the whole post's hand-off);
    they are kept as they were and read by nothing but their Mark as published button."""

    __table_args__ = (
        UniqueConstraint("post_id", "version", "network", name="uq_publication_network"),
        Index("ix_publication_team_finished", "team_id", "finished_at"),  # the digest's
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    post_id: int = Field(foreign_key="post.id", ondelete="CASCADE", index=True)
    version: int
    network: str = Field(default="", max_length=16)
    # due → sending (retrying) → published | notifying → notified (publishers told) →
    # published; failed (the adapter gave up, or a person recorded it) → published still
    # possible by hand; abandoned (the post changed).
    status: str = Field(default="due", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: str = ""  # a failure's reason, in words people may be told
    notices: str = "[]"  # JSON [[channel, ts], …]: the messages with a Mark as published button
    url: str = ""  # the live URL, once published
    # Who marked it published or failed: a user id, or the adapter ("webhook").
    marked_by: str = Field(default="", max_length=32)
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class Route(SQLModel, table=True):
    """An emoji that routes the message it is added to into a channel as a ticket."""

    __table_args__ = (UniqueConstraint("team_id", "emoji", name="uq_route"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    emoji: str = Field(max_length=100)  # without colons
    channel_id: str = Field(max_length=32)
    priority: str = "normal"  # low, normal, high, urgent
    remind_minutes: int | None = None
    escalate_minutes: int | None = None
    escalate_to: str | None = Field(default=None, max_length=32)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="SET NULL")
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class Rota(SQLModel, table=True):
    """Who takes a channel's new tickets, in turn."""

    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_rota"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    members: str  # comma-separated user ids, in order
    turn: int = 0  # how many tickets it has assigned (the next is members[turn % len])
    updated_at: datetime = Field(sa_column=utc_column())


class Ticket(SQLModel, table=True):
    """One complaint: exactly one per (team, channel, message, route)."""

    __table_args__ = (
        UniqueConstraint("team_id", "source_channel", "source_ts", "route_id", name="uq_ticket"),
        Index("ix_ticket_team_status", "team_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    route_id: int = Field(foreign_key="route.id", ondelete="RESTRICT")
    source_channel: str = Field(max_length=32)
    source_ts: str = Field(max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    text: str = ""  # the message as it was when routed
    author: str = ""  # who wrote the message
    permalink: str = ""
    reporter: str = Field(max_length=32)  # who reacted first
    status: str = Field(default="open", max_length=16)  # open, resolved
    priority: str = "normal"
    assignee: str | None = Field(default=None, max_length=32)
    card_channel: str = Field(default="", max_length=32)
    card_ts: str = Field(default="", max_length=32)
    # Whoever posts the card holds this; a card still missing after the lease is posted by
    # the scheduler (the replica that created the ticket died before posting it).
    card_claimed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    assigned_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The network mention or reply the routed message showed (an inbox message), if any:
    # what a Reply… from the card answers.
    inbox_item_id: int | None = Field(
        default=None, foreign_key="inbox_item.id", ondelete="SET NULL"
    )


class TicketReporter(SQLModel, table=True):
    """Everyone who reacted with the route's emoji on the ticket's message."""

    __tablename__ = "ticket_reporter"
    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id", ondelete="CASCADE")
    user_id: str = Field(primary_key=True, max_length=32)
    at: datetime = Field(sa_column=utc_column())


class ReportSetting(SQLModel, table=True):
    """A channel's weekly report: day of the week, local time and IANA zone (and optionally
    one brand)."""

    __tablename__ = "report_setting"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_report_setting"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    channel_id: str = Field(max_length=32)
    weekday: int  # 0 = Monday
    at_time: str = Field(max_length=5)  # "HH:MM", local
    tz: str = Field(max_length=64)
    brand_id: int | None = Field(default=None, foreign_key="brand.id", ondelete="CASCADE")
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())


class ReportRun(SQLModel, table=True):
    """One weekly report of one channel for one ISO week (of the local due day): its outcome
    (sent, skipped or failed), recorded once by the scheduled job that did it (bot.runs),
    unique on (team, channel, week)."""

    __tablename__ = "report_run"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "week", name="uq_report_run"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    week: str = Field(max_length=8)  # "2026-W48"
    due_at: datetime = Field(sa_column=utc_column())
    status: str = Field(default="claimed", max_length=16)  # sent, skipped, failed
    # The token of the job that recorded it (its owner).
    token: str = Field(default="", max_length=32)
    note: str = ""
    claimed_at: datetime = Field(sa_column=utc_column())  # or last renewed
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Job(SQLModel, table=True):
    """Work accepted from Slack (or due by the clock) that has side effects: written before
    it is acknowledged, then claimed by a worker with a lease and a token, done, and marked
    done. ``key`` is unique per team and kind (an event's ``event_id``, a ticket's id…), so
    accepting the same work twice is one job. A job whose worker died is claimed again once
    its lease has run out, by any process."""

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("team_id", "kind", "key", name="uq_job"),
        Index("ix_job_ready", "status", "run_after"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    kind: str = Field(max_length=32)  # "reaction", "card", "approve"…
    key: str = Field(max_length=200)
    payload: str = ""  # JSON
    status: str = Field(default="ready", max_length=16)  # ready, running, done, failed
    token: str = Field(default="", max_length=32)
    attempts: int = 0
    last_error: str = ""
    run_after: datetime = Field(sa_column=utc_column())  # ready: not before; running: lease end
    created_at: datetime = Field(sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class FormSubmission(SQLModel, table=True):
    """Which post (and version) a draft form's submission saved. Slack keeps a modal open
    with the same ``view_id`` when the app didn't answer in time (a crash, a restart), so
    the person's second Submit of it is the same submission: answered, never saved twice."""

    __tablename__ = "form_submission"
    __table_args__ = (UniqueConstraint("team_id", "view_id", name="uq_form_submission"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    view_id: str = Field(max_length=64)
    post_id: int
    version: int
    created_at: datetime = Field(sa_column=utc_column())


class NetworkAccount(SQLModel, table=True):
    """A brand's own account on a network Postroom publishes to itself (Mastodon, later
    Bluesky): one per brand and network. The credentials are stored encrypted
    (``fernet:…``, bot/vault.py: POSTROOM_SECRET_KEY), never in plain text."""

    __tablename__ = "network_account"
    __table_args__ = (UniqueConstraint("brand_id", "network", name="uq_network_account"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    network: str = Field(max_length=16)
    server: str = Field(max_length=2048)  # the instance's or PDS's base URL
    handle: str = Field(max_length=320)  # @user@instance, or the Bluesky handle
    remote_id: str = Field(default="", max_length=128)  # the network's id of the account
    credentials: str = ""  # encrypted JSON: the token (or the session's JWTs)
    limits: str = "{}"  # JSON: the server's own limits (Mastodon's instance configuration)
    state: str = Field(default="connected", max_length=16)  # connected | reconnect
    last_published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The social inbox (PRODUCT.md §14): where reading the account's notifications got to
    # (the network reader's own position: the newest item id read, or the newest item's time
    # with, while a burst is read back page by page, where that reading stands), and whether
    # it is read at all: active | paused (a network down or a credential refused; the admins
    # were told, and it resumes from this cursor).
    inbox_cursor: str = ""
    inbox_state: str = Field(default="active", max_length=16)
    inbox_error: str = ""  # why it is paused, in words for the admins
    inbox_polled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Reads failed in a row (a network down: paused after a few), and when the next read is
    # due (the poll interval, slower while paused, or a rate limit's reset).
    inbox_failures: int = 0
    inbox_next_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_by: str = ""
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class InboxChannel(SQLModel, table=True):
    """Where a brand's network mentions and replies arrive (``/post inbox #channel
    [brand:NAME]``): one channel per brand."""

    __tablename__ = "inbox_channel"
    __table_args__ = (UniqueConstraint("brand_id", name="uq_inbox_channel_brand"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True, max_length=32)
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    channel_id: str = Field(max_length=32)
    created_by: str = Field(default="", max_length=32)
    created_at: datetime = Field(sa_column=utc_column())
    # Why Slack refused the last item posted here (archived, the app removed), the admins
    # told once; empty while posting works (cleared by a post that goes out, or a new
    # `/post inbox #channel`).
    refused: str = Field(default="", max_length=500)


class InboxItem(SQLModel, table=True):
    """One mention of, reply to or quote of a brand's account on a network: exactly one per
    network item (``remote_id``: a Bluesky post's at:// URI, a Mastodon status id, prefixed
    with the instance), posted once into the brand's inbox channel (``channel_id``, ``ts``)."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        UniqueConstraint("team_id", "network", "remote_id", name="uq_inbox_item"),
        Index("ix_inbox_item_message", "team_id", "channel_id", "ts"),
        Index("ix_inbox_item_account_status", "account_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    account_id: int | None = Field(
        default=None, foreign_key="network_account.id", ondelete="SET NULL"
    )
    network: str = Field(max_length=16)
    remote_id: str = Field(max_length=512)  # the network's id of the item
    kind: str = Field(max_length=16)  # mention | reply | quote
    author_handle: str = Field(default="", max_length=320)
    author_name: str = ""
    text: str = ""  # as the network gave it (escaped when shown)
    url: str = ""  # the item on the network, for people
    # What it answers, when it is a reply: the network's id and link of the parent post,
    # Postroom's post id when that post is one of ours, and what a reply to this item needs
    # to land in the right thread (JSON: Bluesky's root and parent refs; Mastodon's status id).
    reply_to_remote_id: str = Field(default="", max_length=512)
    reply_to_url: str = ""
    reply_to_post_id: int | None = Field(default=None, foreign_key="post.id", ondelete="SET NULL")
    thread: str = "{}"
    created_at: datetime = Field(sa_column=utc_column())  # when the network says it was made
    received_at: datetime = Field(sa_column=utc_column())  # when Postroom read it
    # new (read, not yet in Slack) → posted (channel_id, ts set)
    status: str = Field(default="new", max_length=16)
    channel_id: str = Field(default="", max_length=32)
    ts: str = Field(default="", max_length=32)


class Reply(SQLModel, table=True):
    """A reply written from a ticket's card to the network item it came from (PRODUCT.md
    §14), sent as the brand's account exactly once: ``pending_approval`` (the brand wants
    reply approval: a request in its approvals channel, ``request_channel``/``request_ts``)
    → ``approved`` → ``sending`` (a try, ``attempts`` counted) → ``sent`` (``remote_id``,
    ``url``), or ``retrying`` until ``next_attempt_at``, ``failed`` (``error``, in words
    people may be told) or ``rejected`` (``error``: the reason). While it waits for approval,
    ``request_channel`` without ``request_ts`` is a claim on posting its request (taken at
    ``updated_at``), and ``error`` why Slack refused the request last (posted again each
    tick until Slack takes it)."""

    __tablename__ = "reply"
    __table_args__ = (
        UniqueConstraint("team_id", "form", name="uq_reply_form"),
        Index("ix_reply_status", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE", index=True)
    inbox_item_id: int = Field(foreign_key="inbox_item.id", ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    network: str = Field(max_length=16)
    text: str
    author: str = Field(max_length=32)
    status: str = Field(default="approved", max_length=24)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    decided_by: str = Field(default="", max_length=32)  # who approved or rejected it
    request_channel: str = Field(default="", max_length=32)
    request_ts: str = Field(default="", max_length=32)
    remote_id: str = Field(default="", max_length=512)
    url: str = ""
    error: str = ""
    form: str = Field(default="", max_length=64)  # the modal's view id: one reply per submit
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # When its approvers were reminded in the request's thread (once, after 24 h waiting)
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
