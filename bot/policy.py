"""Who may do what: pure functions over plain values, one place for every rule.

The domain calls these and raises :class:`~bot.errors.PermissionDenied` with the sentence
they return; nothing here touches Slack or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.mrkdwn import user
from bot.networks import NETWORKS, label

ROLES: tuple[str, ...] = ("admin", "approver", "publisher", "support", "client")

ROLE_HELP: dict[str, str] = {
    "admin": "configures Postroom (roles, brands, channels, routes, digests)",
    "approver": "approves posts for their networks (stage team)",
    "publisher": "is told when an approved post is due and marks it published",
    "support": "takes and resolves complaint tickets",
    "client": "approves posts for their brand (stage client, agencies)",
}


@dataclass(frozen=True)
class Grant:
    """A role, optionally limited to some networks and/or one brand (None = all)."""

    role: str
    networks: frozenset[str] = frozenset()
    brand: str | None = None

    @property
    def scope(self) -> str:
        """``Instagram, X · brand acme``; empty when the role applies everywhere."""
        parts = []
        if self.networks:
            parts.append(", ".join(label(n) for n in sorted(self.networks, key=NETWORKS.index)))
        if self.brand:
            parts.append(f"brand {self.brand}")
        return " · ".join(parts)

    def __str__(self) -> str:
        """``approver (Instagram, X · brand acme)``"""
        return f"{self.role} ({self.scope})" if self.scope else self.role

    def covers(self, role: str, network: str | None = None, brand: str | None = None) -> bool:
        if self.role != role:
            return False
        if self.networks and (network is None or network not in self.networks):
            return False
        return self.brand is None or self.brand == brand


@dataclass(frozen=True)
class Actor:
    """The person acting, with everything the rules need to know about them."""

    user_id: str
    workspace_admin: bool = False  # a Slack workspace admin or owner
    configured_admin: bool = False  # listed in POSTROOM_ADMINS
    slack_role_unknown: bool = False  # Slack could not say whether they are a workspace admin
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return (
            self.workspace_admin
            or self.configured_admin
            or any(g.role == "admin" for g in self.grants)
        )

    def has_role(self, role: str, network: str | None = None, brand: str | None = None) -> bool:
        return any(g.covers(role, network, brand) for g in self.grants)


def admin_refusal(actor: Actor, action: str, admin_ids: Iterable[str]) -> str:
    """The sentence for a non-admin, naming who can do it instead."""
    names = ", ".join(f"<@{uid}>" for uid in sorted(set(admin_ids)))
    who = f"Postroom admins ({names}) or" if names else "a Postroom admin or"
    sentence = f"Only admins can {action}. Ask {who} a Slack workspace admin or owner."
    if actor.slack_role_unknown:
        sentence += (
            " (Slack didn't tell me just now whether you are a workspace admin; if you are, "
            "try again in a minute.)"
        )
    return sentence


def may_configure(actor: Actor) -> bool:
    """Changing roles, brands and channels is for admins."""
    return actor.is_admin


# --- posts ---------------------------------------------------------------------------------

STAGE_ROLE = {"team": "approver", "client": "client"}


@dataclass(frozen=True)
class PostFacts:
    """What the approval rules need to know about a post."""

    author: str
    networks: frozenset[str]
    brand: str


def networks_held(actor: Actor, post: PostFacts, stage: str = "team") -> frozenset[str]:
    """The networks of the post whose stage role ``actor`` holds (in its brand)."""
    role = STAGE_ROLE[stage]
    return frozenset(n for n in post.networks if actor.has_role(role, n, post.brand))


def holds_stage(actor: Actor, post: PostFacts, stage: str) -> bool:
    """Stage ``team`` is approved per network: an ``approver`` of at least one network of
    the post (in its brand) takes part in it. Stage ``client`` needs ``client`` for the
    brand (and every network of the post, if scoped)."""
    held = networks_held(actor, post, stage)
    if stage == "team":
        return bool(held)
    return held == post.networks


def decision_refusal(
    actor: Actor, post: PostFacts, stage: str, self_approval: bool, verb: str = "approve"
) -> str | None:
    """Why ``actor`` may not decide (approve, reject, request changes) this stage; None if
    they may. The order follows the question a person asks: is it mine? am I allowed? At the
    client stage the author (on the team, never the brand's client) is told first that only
    the client decides it: four-eyes is not what stops them there."""
    holds = holds_stage(actor, post, stage)
    if stage == "client" and not holds:
        return _role_refusal(actor, post, stage, verb)
    if actor.user_id == post.author and not self_approval:
        return (
            f"You wrote this post, so someone else has to {verb} it (four-eyes). "
            f"An admin can allow self-approval with `/post brand set {post.brand} self-approval`."
        )
    return None if holds else _role_refusal(actor, post, stage, verb)


def _role_refusal(actor: Actor, post: PostFacts, stage: str, verb: str) -> str:
    if stage == "client":
        return (
            f"Only the client of brand {post.brand} can {verb} at the client stage, and you "
            "aren't this brand's client."
        )
    names = " or ".join(label(n) for n in sorted(post.networks, key=NETWORKS.index))
    held = [g for g in actor.grants if g.role == "approver"]
    admin = (
        " As an admin you can *approve as admin* instead (with a reason, recorded as an override)."
        if actor.is_admin and verb == "approve"
        else ""
    )
    if not held:
        return (
            f"You aren't an approver, so you can't {verb} this post. Approvers for {names} "
            f"in brand {post.brand} can; an admin grants it with `/post role add @user "
            f"approver`.{admin}"
        )
    mine = "; ".join(str(g) for g in held)
    return (
        f"You can't {verb} this post: it goes to {names}, and you are {mine}. Each network "
        f"is approved by an approver of that network.{admin}"
    )


def visible_brands(actor: Actor) -> frozenset[str] | None:
    """The brands whose posts a person sees in shared lists (the calendar, pending and
    scheduled lists, the digest preview, the Home's calendar); None means every brand.

    An agency's client (someone whose only roles are client roles for named brands) sees
    their own brands only: they are often in a shared channel with the agency and must not
    read other clients' posts. Everyone else on the team sees the whole calendar."""
    if actor.is_admin or not actor.grants:
        return None
    if all(g.role == "client" and g.brand for g in actor.grants):
        return frozenset(g.brand for g in actor.grants if g.brand)
    return None


def sees_brand(actor: Actor, brand: str | None) -> bool:
    """Whether a person may see a brand's posts and guide: the one question every surface
    that lists or shows them asks (``visible_brands``). ``None``: something of no brand,
    which only those who see every brand see."""
    visible = visible_brands(actor)
    return visible is None or (brand is not None and brand in visible)


def sees_team_work(actor: Actor) -> bool:
    """Tickets (customers' complaints), playbooks and the team's reports are the team's:
    an agency's client (``visible_brands`` not None) sees none of them."""
    return visible_brands(actor) is None


def sees_tickets(actor: Actor) -> bool:
    """Tickets quote customers: a brand's client never sees them (not even one handed to
    them before tickets went only to support people), whatever other role they hold, unless
    they also handle tickets (``support``) or are an admin."""
    if actor.is_admin or any(g.role == "support" for g in actor.grants):
        return True
    return sees_team_work(actor) and not any(g.role == "client" for g in actor.grants)


def only_brands_sentence(actor: Actor, what: str) -> str:
    """``You can see the guide of brand `acme` only.`` for someone limited to some brands."""
    yours = ", ".join(f"`{b}`" for b in sorted(visible_brands(actor) or ()))
    return f"You can see the {what} of brand {yours} only."


def may_manage_post(actor: Actor, author: str) -> bool:
    """Editing, cancelling and showing a post: its author or an admin."""
    return actor.user_id == author or actor.is_admin


def manage_refusal(actor: Actor, post_id: int, author: str, verb: str) -> str | None:
    """Why ``actor`` may not ``verb`` (edit, cancel, show…) post ``post_id``; None if they
    may (``may_manage_post``)."""
    if may_manage_post(actor, author):
        return None
    return f"Only the author of post #{post_id} ({user(author)}) or an admin can {verb} it."


def may_draft(actor: Actor, drafting: str) -> bool:
    """Anyone may draft (propose) a post, unless an admin limited drafting to people who
    hold a Postroom role."""
    return drafting == "anyone" or actor.is_admin or bool(actor.grants)


def drafting_refusal(actor: Actor, drafting: str) -> str | None:
    """Why ``actor`` may not draft a post where drafting is ``drafting`` (``anyone`` or
    limited to people with a role); None if they may."""
    if may_draft(actor, drafting):
        return None
    return (
        "Drafting is limited to people with a Postroom role here. Ask an admin to give "
        "you one (`/post role add`), or to open drafting to everyone "
        "(`/post drafting anyone`)."
    )


def may_override(actor: Actor) -> bool:
    """*Approve as admin* (an audited override of the team stage) is for admins."""
    return actor.is_admin


def override_refusal(actor: Actor, post: PostFacts, stage: str, self_approval: bool) -> str | None:
    """Why ``actor`` may not *approve as admin*; None if they may. It is an admin's override
    of the team stage only (the client approves the client stage), and not of their own post
    (four-eyes)."""
    if not may_override(actor):
        return "Only admins can approve as admin (an audited override of the team stage)."
    if stage != "team":
        return (
            "Approve as admin passes the team stage only: at the client stage, only the "
            f"client of brand {post.brand} can approve."
        )
    if actor.user_id == post.author and not self_approval:
        return (
            "You wrote this post, so someone else has to approve it (four-eyes), even as an admin."
        )
    return None


# --- publishing ----------------------------------------------------------------------------


def mark_refusal(
    actor: Actor, post_id: int, post: PostFacts, networks: Iterable[str], outcome: str = "published"
) -> str | None:
    """Why ``actor`` may not mark these networks of the post ``outcome`` (``published`` or
    ``failed``); None if they may. A publisher of a network (in the post's brand) marks that
    network; the author and admins mark any."""
    networks = list(networks)
    if actor.is_admin or actor.user_id == post.author:
        return None
    if all(actor.has_role("publisher", n, post.brand) for n in networks):
        return None
    nets = ", ".join(label(n) for n in networks)
    return (
        f"Only a publisher for this post's networks ({nets} here, brand {post.brand}), its "
        f"author or an admin can mark post #{post_id} {outcome} on {nets}."
    )


def may_mark(actor: Actor, post: PostFacts, network: str | None = None) -> bool:
    """May ``actor`` mark ``network`` (None: at least one network of the post)?"""
    if network is not None:
        return mark_refusal(actor, 0, post, [network]) is None
    return any(mark_refusal(actor, 0, post, [n]) is None for n in post.networks)


# --- tickets -------------------------------------------------------------------------------


def handles_tickets(actor: Actor, brand: str | None) -> bool:
    """Taking, assigning, resolving and having tickets of a route of ``brand`` (None: a route
    of no brand): ``support`` for that brand or every brand (whatever networks the grant
    names), or an admin. Never a client as such."""
    if actor.is_admin:
        return True
    return any(g.role == "support" and (g.brand is None or g.brand == brand) for g in actor.grants)


def ticket_refusal(actor: Actor, brand: str | None, verb: str) -> str | None:
    """Why ``actor`` may not ``verb`` (take or assign, resolve, reopen…) tickets of a route of
    ``brand``; None if they may."""
    if handles_tickets(actor, brand):
        return None
    return (
        f"Only support people (role `support`) or admins can {verb} tickets. An admin "
        "grants it with `/post role add @user support`."
    )


def assignee_refusal(person: Actor, brand: str | None, channel_id: str) -> str | None:
    """Why a ticket of a route of ``brand`` into ``channel_id`` may not go to ``person`` (by
    the rota or Assign…): tickets go only to people with the ``support`` role for the
    route's brand, or admins; never to a client. None when it may."""
    if handles_tickets(person, brand):
        return None
    who = user(person.user_id)
    scope = f"for brand {brand}" if brand else "for every brand"
    sentence = (
        f"{who} can't have tickets of <#{channel_id}>: they go only to people with the "
        f"`support` role {scope}, or admins."
    )
    clients = sorted({g.brand or "every brand" for g in person.grants if g.role == "client"})
    if clients:
        sentence += f" {who} is a client ({', '.join(clients)})."
    grant = "/post role add @user support" + (f" brand:{brand}" if brand else "")
    return f"{sentence} An admin grants the role with `{grant}`."


def ticket_list_refusal(actor: Actor, which: str) -> str | None:
    """Why ``actor`` may not list tickets (``open``: every open one; ``mine``: those assigned
    to them); None if they may. An agency's client sees none; the list of every open ticket
    is for support people and admins."""
    if not sees_team_work(actor):
        return (
            "Tickets quote customers' messages, so they are for the team's support people and "
            "admins."
        )
    if which == "open" and not (actor.is_admin or any(g.role == "support" for g in actor.grants)):
        return (
            "The ticket list quotes customers' messages, so it is for support people and "
            "admins. `/post tickets mine` lists the ones assigned to you."
        )
    return None


def playbook_refusal(actor: Actor) -> str | None:
    """Why ``actor`` may not read a brand's complaint playbook (the team's notes); None if
    they may."""
    if sees_team_work(actor):
        return None
    return "Complaint playbooks are the team's notes, for its support people."


# --- reports and digests -------------------------------------------------------------------


def may_run_reports(actor: Actor) -> bool:
    """Admins, and the team's people with a role (approvers, publishers, support). A client
    alone may not: the report names the team's people and covers every brand."""
    return actor.is_admin or any(g.role != "client" for g in actor.grants)


def report_refusal(actor: Actor) -> str | None:
    """Why ``actor`` may not run or read the team report; None if they may."""
    if may_run_reports(actor):
        return None
    return (
        "Team reports name people and cover every brand, so they are for admins and "
        "people with a Postroom role (approver, publisher, support). An admin can grant "
        "one with `/post role add`."
    )


def weekly_list_refusal(actor: Actor) -> str | None:
    """Why ``actor`` may not list the weekly reports: an agency's client who doesn't also run
    reports; None if they may."""
    return None if sees_team_work(actor) else report_refusal(actor)


def report_in_channel(actor: Actor) -> bool:
    """A report asked for in a channel is posted there only for an admin (and only where the
    team alone reads it); anyone else gets it by direct message."""
    return actor.is_admin


def digest_preview_refusal(actor: Actor, brand: str | None) -> str | None:
    """Why ``actor`` may not preview the digest of ``brand`` (None: the digest of every
    brand); None if they may. Someone limited to one brand previews that brand's digest
    instead (the caller picks it); limited to several, they are told where to look."""
    visible = visible_brands(actor)
    if visible is None or brand in visible or len(visible) == 1:
        return None
    return (
        "The digest here covers brands you don't work on. "
        "`/post calendar` shows your brands' posts."
    )


# --- replies to the networks ---------------------------------------------------------------


def reply_refusal(actor: Actor, brand: str) -> str | None:
    """Why ``actor`` may not reply on a network, as brand ``brand``'s account, from a
    ticket's card (PRODUCT.md §14); None if they may: the ``support`` role for the brand (or
    every brand), or an admin. Never a client as such."""
    if handles_tickets(actor, brand):
        return None
    return (
        f"Only support people for brand {brand} (role `support`) or admins can reply on the "
        f"network as the brand. An admin grants it with `/post role add @user support "
        f"brand:{brand}`."
    )


def reply_decision_refusal(
    actor: Actor, author: str, network: str, brand: str, self_approval: bool, verb: str
) -> str | None:
    """Why ``actor`` may not ``verb`` (approve, reject) a reply awaiting the brand's reply
    approval; None if they may. The team stage of a post: an ``approver`` of the reply's
    network in its brand, and not its own writer unless the brand allows self-approval
    (four-eyes)."""
    if actor.user_id == author and not self_approval:
        return (
            f"You wrote this reply, so someone else has to {verb} it (four-eyes). An admin "
            f"can allow self-approval with `/post brand set {brand} self-approval`."
        )
    if actor.has_role("approver", network, brand):
        return None
    return (
        f"Only an approver for {label(network)} in brand {brand} can {verb} this reply. An "
        f"admin grants it with `/post role add @user approver {network} brand:{brand}`."
    )
