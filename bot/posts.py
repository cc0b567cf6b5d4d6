"""The post lifecycle: draft → pending → approved (→ published), with changes_requested,
rejected, cancelled and expired on the side.

Every status change is one compare-and-set on (id, status, version[, stage]) with its audit
entry in the same transaction. When the compare fails, someone else acted first: the
error says who and when, from the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import policy, workspace
from bot.caller import Caller
from bot.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from bot.mrkdwn import code, date, escape, user
from bot.networks import NETWORKS
from bot.networks import label as _label
from bot.policy import Actor, PostFacts
from storage import repo
from storage.db import Database
from storage.models import Brand, Post

NETWORK_LABELS = {n: _label(n) for n in NETWORKS}
EDITABLE = ("draft", "pending", "changes_requested", "approved")
UNAPPROVED = ("draft", "pending", "changes_requested")  # expire when their time comes
REMINDER_AFTER = timedelta(hours=24)

STATUS_WORDS = {
    "draft": "a draft",
    "pending": "waiting for approval",
    "changes_requested": "sent back for changes",
    "approved": "approved",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "expired": "expired",
    "published": "published",
}


@dataclass(frozen=True)
class Draft:
    """What the draft modal collects (already parsed)."""

    text: str
    networks: frozenset[str]
    brand: str
    media_urls: tuple[str, ...] = ()
    # The alt text of each media URL, in the same order ("" where none; never more than
    # the media: the form refuses that).
    media_alt: tuple[str, ...] = ()
    scheduled_at: datetime | None = None
    notes: str = ""  # for the team: never shown to a client
    client_notes: str = ""  # for the client
    send: bool = True


@dataclass(frozen=True)
class Decision:
    """What a decision did: the post after it, and what it means for the request message."""

    post: Post
    outcome: str  # "approved", "stage_passed", "partial", "rejected", "changes_requested"
    stage: str
    approvers: tuple[str, ...]  # who approved this stage so far
    waiting_for: tuple[str, ...]  # who still has to approve (mode "all")
    at: datetime
    by: str
    brand: Brand
    reason: str = ""
    # Stage team, network by network: (network, who approved it so far, who may still).
    progress: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()
    override: bool = False  # an admin's "approve as admin"


@dataclass(frozen=True)
class Progress:
    """Where the team stage of one version stands, network by network."""

    networks: tuple[str, ...]  # the post's, in the usual order
    approved: dict[str, tuple[str, ...]]  # network → who approved it, in order
    owed: dict[str, tuple[str, ...]]  # network → who may still approve it (while it waits)
    complete: frozenset[str]  # the networks whose approval is done
    override: str | None = None  # the admin who approved as admin

    @property
    def done(self) -> bool:
        return self.complete == frozenset(self.networks)

    @property
    def waiting(self) -> tuple[str, ...]:
        return tuple(n for n in self.networks if n not in self.complete)

    def owed_people(self) -> tuple[str, ...]:
        """Everyone a waiting network still waits for, sorted."""
        return tuple(sorted({uid for n in self.waiting for uid in self.owed.get(n, ())}))

    def rows(self) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
        return tuple(
            (
                n,
                self.approved.get(n, ()),
                () if n in self.complete else self.owed.get(n, ()),
            )
            for n in self.networks
        )


def team_progress(
    post: Post, brand: Brand, approvals: Iterable, approvers: dict[str, list[str]]
) -> Progress:
    """The team stage of ``post`` given its ``approvals`` (rows of approver, networks,
    override) and who may approve each network (``network_approvers``). Mode ``any``: a
    network is done with one approval from an approver of it; mode ``all``: with every
    approver of it (and at least one). An approval of before per-network approval (no
    networks recorded) covers the whole post, as it did; an admin's override, everything."""
    nets = tuple(ordered_networks(post))
    approved: dict[str, list[str]] = {n: [] for n in nets}
    override = None
    for row in approvals:
        if row.override:
            override = row.approver
        covered = [n for n in row.networks.split(",") if n] or list(nets)
        for n in covered:
            if n in approved and row.approver not in approved[n]:
                approved[n].append(row.approver)
    complete = set()
    owed: dict[str, tuple[str, ...]] = {}
    for n in nets:
        may = [uid for uid in approvers.get(n, ()) if uid not in approved[n]]
        if brand.approval_mode == "all":
            finished = bool(approved[n]) and not may
        else:
            finished = bool(approved[n])
        if finished or override:
            complete.add(n)
        else:
            owed[n] = tuple(may)
    return Progress(
        nets,
        {n: tuple(a) for n, a in approved.items()},
        owed,
        frozenset(complete),
        override,
    )


def facts(post: Post, brand: str) -> PostFacts:
    return PostFacts(post.author, networks_of(post), brand)


def networks_of(post: Post) -> frozenset[str]:
    return frozenset(n for n in post.networks.split(",") if n)


def ordered_networks(post: Post) -> list[str]:
    return sorted(networks_of(post), key=NETWORKS.index)


def first_line(post: Post, limit: int = 120) -> str:
    """The post's first line, cut to ``limit`` characters (for lists and summaries)."""
    text = post.text.strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def media_of(post: Post) -> list[str]:
    return [line for line in post.media_urls.splitlines() if line.strip()]


@dataclass(frozen=True)
class MediaItem:
    url: str
    alt: str  # the alt text people gave it ("" when none)


def media_items(post: Post) -> list[MediaItem]:
    """The post's media in order, each with its alt text (``post.media_alt``, a JSON list in
    the same order; a missing or unreadable entry is "")."""
    try:
        alts = json.loads(post.media_alt or "[]")
    except ValueError:
        alts = []
    alts = alts if isinstance(alts, list) else []
    return [
        MediaItem(url, alts[i] if i < len(alts) and isinstance(alts[i], str) else "")
        for i, url in enumerate(media_of(post))
    ]


def alt_json(media: Sequence[str], alts: Sequence[str]) -> str:
    """``post.media_alt`` for these media: one alt text per media URL, in order ("" where
    none was given; alt text beyond the media is dropped)."""
    return json.dumps([alts[i] if i < len(alts) else "" for i in range(len(media))])


# --- reading -------------------------------------------------------------------------------


def brand_named(db: Database, team_id: str, name: str) -> Brand:
    with db.read(core=True) as connection:
        brand = repo.find_brand(connection, team_id, name)
    if brand is None:
        raise no_brand(name)
    return brand


def no_brand(name: str) -> NotFound:
    """A brand that doesn't exist (brands are never removed: it never did), or one the person
    may not see, which is the same to them."""
    return NotFound(f"There is no brand {code(name)}. `/post brand list` shows them.")


def get(db: Database, team_id: str, post_id: int) -> tuple[Post, Brand]:
    with db.read(core=True) as connection:
        found = repo.post_with_brand(connection, team_id, post_id)
    if found is None:
        raise NotFound(f"There is no post #{post_id}. `/post list mine` shows yours.")
    return found


def get_for(
    db: Database, team_id: str, actor: Actor, post_id: int, verb: str
) -> tuple[Post, Brand]:
    """The post, if ``actor`` may ``verb`` it (its author or an admin). A post of a brand
    the actor doesn't see (``policy.sees_brand``) is answered as if it didn't exist."""
    post, brand = get(db, team_id, post_id)
    if not policy.sees_brand(actor, brand.name):
        raise NotFound(f"There is no post #{post_id}. `/post list mine` shows yours.")
    refusal = policy.manage_refusal(actor, post_id, post.author, verb)
    if refusal:
        raise PermissionDenied(refusal)
    return post, brand


def listing(db: Database, team_id: str, actor: Actor, which: str, now: datetime) -> list[Post]:
    brands = policy.visible_brands(actor)
    with db.read() as session:
        if which == "mine":
            return repo.list_posts(session, team_id, author=actor.user_id)
        if which == "pending":
            return repo.list_posts(session, team_id, statuses=["pending"], brands=brands)
        return repo.list_posts(
            session, team_id, statuses=["pending", "approved"], scheduled_after=now, brands=brands
        )


def _holders(connection, team_id: str) -> dict[str, list[policy.Grant]]:
    grants = repo.team_grants(connection, team_id)
    holders: dict[str, list[policy.Grant]] = {}
    for row in grants:
        holders.setdefault(row.user_id, []).append(workspace.as_grant(row, row.brand))
    return holders


def network_approvers(db: Database, team_id: str, post: Post, brand: Brand) -> dict[str, list[str]]:
    """For each network of the post, everyone who may approve it at the team stage (an
    ``approver`` of that network in the post's brand; the author only with self-approval)."""
    with db.read(core=True) as connection:
        return network_approvers_in(connection, team_id, post, brand)


def network_approvers_in(
    connection, team_id: str, post: Post, brand: Brand
) -> dict[str, list[str]]:
    """``network_approvers`` read in the caller's transaction."""
    holders = _holders(connection, team_id)
    post_facts = facts(post, brand.name)
    found: dict[str, list[str]] = {n: [] for n in ordered_networks(post)}
    for uid in sorted(holders):
        if uid == post.author and not brand.self_approval:
            continue
        for n in policy.networks_held(Actor(uid, grants=tuple(holders[uid])), post_facts):
            found[n].append(uid)
    return found


def stage_approvers(db: Database, team_id: str, post: Post, brand: Brand, stage: str) -> list[str]:
    """Everyone who may decide this stage of this post (the author only with self-approval):
    at the team stage, the approvers of any of its networks."""
    with db.read(core=True) as connection:
        return stage_approvers_in(connection, team_id, post, brand, stage)


def stage_approvers_in(connection, team_id: str, post: Post, brand: Brand, stage: str) -> list[str]:
    """``stage_approvers`` read in the caller's transaction."""
    if stage == "team":
        per_network = network_approvers_in(connection, team_id, post, brand)
        return sorted({uid for people in per_network.values() for uid in people})
    holders = _holders(connection, team_id)
    post_facts = facts(post, brand.name)
    return sorted(
        uid
        for uid, held in holders.items()
        if policy.holds_stage(Actor(uid, grants=tuple(held)), post_facts, stage)
        and (uid != post.author or brand.self_approval)
    )


def progress_of(db: Database, post: Post, brand: Brand) -> Progress:
    """The team stage's progress of the post's current version."""
    with db.read(core=True) as connection:
        rows = repo.approvals_of(connection, post.id, post.version, "team")  # type: ignore[arg-type]
        return team_progress(
            post, brand, rows, network_approvers_in(connection, post.team_id, post, brand)
        )


def owed_approvers(db: Database, post: Post, brand: Brand) -> list[str]:
    """Who the post's current stage still waits for: at the team stage, the approvers of
    its networks not approved yet (mode ``all``: those of them who haven't approved)."""
    stage = post.stage or "team"
    if stage != "team":
        return stage_approvers(db, post.team_id, post, brand, stage)
    return list(progress_of(db, post, brand).owed_people())


def unapprovable(
    db: Database, team_id: str, networks: Iterable[str], brand: Brand, author: str
) -> list[str]:
    """The networks (in order) nobody may approve for a post of ``brand`` by ``author``."""
    probe = Post(
        team_id=team_id,
        brand_id=brand.id or 0,
        author=author,
        text="",
        networks=",".join(networks),
    )
    per_network = network_approvers(db, team_id, probe, brand)
    return [n for n, people in per_network.items() if not people]


def nobody_sentence(
    networks: Sequence[str],
    brand: Brand,
    admins: Iterable[str],
    names: dict[str, str] | None = None,
) -> str:
    """Why a post to ``networks`` can't be sent for approval, and who can fix it: the admins
    as mentions, or by ``names`` (for a form's error, which is plain text)."""
    networks_named = ", ".join(NETWORK_LABELS[n] for n in networks)
    scope = " ".join(networks)
    people = sorted(set(admins))
    if names is not None:
        who = ", ".join(names.get(a, f"@{a}") for a in people)
    else:
        who = ", ".join(user(a) for a in people)
    fix = f"an admin ({who})" if who else "a Postroom admin or a Slack workspace admin"
    return (
        f"Nobody may approve {networks_named} posts for brand {brand.name} yet, so this post would "
        f"wait for nobody. Ask {fix} to add an approver: `/post role add @someone approver "
        f"{scope} brand:{brand.name}`, or pick other networks."
    )


# --- drafting and editing ------------------------------------------------------------------


def check_schedule(scheduled_at: datetime | None, now: datetime) -> None:
    if scheduled_at is not None and scheduled_at <= now:
        raise ValidationFailed(
            "That time has passed. Pick a time in the future, or leave it empty.",
            fields={"scheduled": "That time has passed. Pick a time in the future."},
        )


def create(
    db: Database,
    team_id: str,
    actor: Actor,
    draft: Draft,
    warnings: Iterable[str],
    now: datetime,
    brand: Brand | None = None,
    form: str = "",
) -> Post:
    """Save a new post as a draft (sending it for approval is ``submit``). ``brand``: the
    draft's brand, when the caller has just read it; ``form``: the id of the form (Slack
    view) that saved it, recorded with it (see ``saved_by_form``)."""
    check_schedule(draft.scheduled_at, now)
    check_drafting(db, team_id, actor)
    if brand is None:
        brand = brand_named(db, team_id, draft.brand)
    with db.write(core=True) as session:
        post = repo.add_post(
            session,
            Post(
                team_id=team_id,
                brand_id=brand.id,  # type: ignore[arg-type]
                author=actor.user_id,
                status="draft",
                created_at=now,
                updated_at=now,
                **_content(draft, warnings),
            ),
        )
        _audit(session, post, actor.user_id, "create", None, "draft", now)
        if form:
            repo.record_form(session, team_id, form, post.id, post.version, now)  # type: ignore[arg-type]
    return post


def edit(
    db: Database,
    team_id: str,
    actor: Actor,
    post_id: int,
    version: int,
    draft: Draft,
    warnings: Iterable[str],
    now: datetime,
    brand: Brand | None = None,
    form: str = "",
) -> tuple[Post, str]:
    """Replace the content as a new version, back to draft (``submit`` restarts approval).
    Returns the post and the status it had. ``brand``: the draft's brand, when the caller
    has just read it; ``form`` as for ``create``."""
    check_schedule(draft.scheduled_at, now)
    post, _ = check_editable(db, team_id, actor, post_id, version)
    if brand is None:
        brand = brand_named(db, team_id, draft.brand)
    with db.write() as session:
        moved = repo.transition(
            session,
            post_id,
            expect_status=post.status,
            expect_version=version,
            changes={
                **_content(draft, warnings),
                "brand_id": brand.id,
                "status": "draft",
                "version": version + 1,
                "stage": None,
                "stage_at": None,
                "reminded_at": None,
                "updated_at": now,
            },
        )
        if not moved:
            raise lost(session, team_id, post_id, "edit it")
        _audit(
            session,
            post,
            actor.user_id,
            "edit",
            post.status,
            "draft",
            now,
            comment=f"version {version + 1}",
        )
        if form:
            repo.record_form(session, team_id, form, post_id, version + 1, now)
    return repo.as_post(moved), post.status


def saved_by_form(db: Database, team_id: str, form: str) -> Post | None:
    """The post the form ``form`` already saved (Slack lets a person submit a form again
    when the app didn't answer the first time): that submission's result, not a new one."""
    with db.read() as session:
        saved = repo.form_saved(session, team_id, form)
        return repo.get_post(session, team_id, saved[0]) if saved else None


def check_editable(
    db: Database, team_id: str, actor: Actor, post_id: int, version: int | None = None
) -> tuple[Post, Brand]:
    """The post, if ``actor`` may edit it now (and it is still at ``version``, when given)."""
    post, brand = get_for(db, team_id, actor, post_id, "edit")
    if post.status not in EDITABLE:
        raise InvalidTransition(
            f"Post #{post_id} is {STATUS_WORDS[post.status]}, so it can't be edited. "
            "Draft a new one with `/post draft`."
        )
    if version is not None and post.version != version:
        raise InvalidTransition(
            f"Post #{post_id} changed while you were editing (it is now version {post.version}). "
            "Copy your text, close this form and open it again with "
            f"`/post edit {post_id}`."
        )
    return post, brand


def drafting_of(db: Database, team_id: str) -> str:
    with db.read(core=True) as connection:
        return repo.drafting_of(connection, team_id) or "anyone"


def check_drafting(db: Database, team_id: str, actor: Actor) -> None:
    refusal = policy.drafting_refusal(actor, drafting_of(db, team_id))
    if refusal:
        raise PermissionDenied(refusal)


def set_drafting(db: Database, caller: Caller, who: str, now: datetime) -> None:
    workspace.require_admin(caller, "change who may draft")
    with db.write() as session:
        before = repo.set_drafting(session, caller.team_id, who)
        repo.audit(
            session,
            caller.team_id,
            "team",
            caller.team_id,
            caller.user_id,
            "drafting",
            now,
            from_state=before,
            to_state=who,
        )


def _content(draft: Draft, warnings: Iterable[str]) -> dict:
    return {
        "text": draft.text,
        "networks": ",".join(sorted(draft.networks, key=NETWORKS.index)),
        "media_urls": "\n".join(draft.media_urls),
        "media_alt": alt_json(draft.media_urls, draft.media_alt),
        "scheduled_at": draft.scheduled_at,
        "notes": draft.notes,
        "client_notes": draft.client_notes,
        "warnings": "\n".join(warnings),
    }


# --- approval ------------------------------------------------------------------------------


def submit(db: Database, post: Post, actor: Actor, now: datetime) -> Post:
    """Send a draft (or a post sent back for changes) for approval: stage ``team``."""
    with db.write(core=True) as connection:
        return submit_in(connection, post, actor, now)


def submit_in(connection, post: Post, actor: Actor, now: datetime) -> Post:
    """``submit`` in the caller's write transaction (with what it writes alongside)."""
    moved = repo.transition(
        connection,
        post.id,  # type: ignore[arg-type]
        expect_status=("draft", "changes_requested"),
        expect_version=post.version,
        changes={
            "status": "pending",
            "stage": "team",
            "stage_at": now,
            "reminded_at": None,
            "updated_at": now,
        },
    )
    if not moved:
        raise lost(connection, post.team_id, post.id, "send it for approval")  # type: ignore[arg-type]
    _audit(connection, post, actor.user_id, "submit", post.status, "pending", now)
    return repo.as_post(moved)


def unsubmit(db: Database, post: Post, now: datetime, why: str) -> Post | None:
    """Back to draft when its approval request could not be posted (nothing is lost)."""
    with db.write(core=True) as session:
        moved = repo.transition(
            session,
            post.id,  # type: ignore[arg-type]
            expect_status="pending",
            expect_version=post.version,
            changes={"status": "draft", "stage": None, "stage_at": None, "updated_at": now},
        )
        if not moved:
            return None
        _audit(session, post, "", "unsubmit", "pending", "draft", now, comment=why)
        return repo.as_post(moved)


VERBS = {
    "approve": "approve",
    "reject": "reject",
    "changes": "request changes to",
    "override": "approve as admin",
}


def check_decision(
    db: Database, team_id: str, actor: Actor, post_id: int, version: int, stage: str, verdict: str
) -> tuple[Post, Brand]:
    """Everything ``decide`` checks, without acting (before asking for a reason)."""
    with db.read(core=True) as connection:
        found = repo.post_with_brand(connection, team_id, post_id)
        return _checked(connection, found, actor, post_id, version, stage, VERBS[verdict])


def _checked(
    connection,
    found: tuple[Post, Brand] | None,
    actor: Actor,
    post_id: int,
    version: int,
    stage: str,
    verb: str,
) -> tuple[Post, Brand]:
    """The checks of a decision, in the order a person would ask: is this the post as it is
    now (version, still pending, this stage)? may I? ``found``: the post and its brand, as
    read in ``connection``'s transaction."""
    if found is None:
        raise NotFound(f"There is no post #{post_id}. `/post list mine` shows yours.")
    post, brand = found
    if post.version != version:
        raise InvalidTransition(
            f"This request is for version {version} of post #{post_id}, which has since been "
            f"edited (now version {post.version}). Nothing changed; use the newest request."
        )
    if post.status == "pending" and post.stage != stage and stage == "client":
        raise InvalidTransition(
            f"Post #{post_id} is waiting for its {post.stage} stage, not the {stage} stage. "
            "Nothing changed."
        )
    if post.status != "pending" or post.stage != stage:
        raise lost(connection, post.team_id, post_id, verb + " it")
    if verb == VERBS["override"]:
        refusal = policy.override_refusal(
            actor, facts(post, brand.name), stage, brand.self_approval
        )
    else:
        refusal = policy.decision_refusal(
            actor, facts(post, brand.name), stage, brand.self_approval, verb
        )
    if refusal:
        raise PermissionDenied(refusal)
    return post, brand


def decide(
    db: Database,
    team_id: str,
    actor: Actor,
    post_id: int,
    version: int,
    stage: str,
    verdict: str,
    now: datetime,
    reason: str = "",
) -> Decision:
    """Approve, reject or request changes for one stage of one version of a post: one write
    transaction (``decide_in``)."""
    with db.write(core=True) as connection:
        return decide_in(connection, team_id, actor, post_id, version, stage, verdict, now, reason)


def decide_in(
    connection,
    team_id: str,
    actor: Actor,
    post_id: int,
    version: int,
    stage: str,
    verdict: str,
    now: datetime,
    reason: str = "",
) -> Decision:
    """``decide`` in the caller's write transaction: the post (locked: votes of one
    stage are serialised on its row, so that two last votes cast at once see each other and
    the stage completes, instead of both seeing "partial"), the checks of
    ``check_decision``, then one compare-and-set with its audit entry."""
    verb = VERBS[verdict]
    found = repo.post_with_brand(connection, team_id, post_id, lock=True)
    post, brand = _checked(connection, found, actor, post_id, version, stage, verb)
    if verdict in ("approve", "override"):
        overriding = reason.strip() or "no reason given" if verdict == "override" else ""
        return _approve(connection, post, brand, actor, stage, now, overriding)
    to_status = "rejected" if verdict == "reject" else "changes_requested"
    moved = repo.transition(
        connection,
        post_id,
        expect_status="pending",
        expect_version=version,
        expect_stage=stage,
        changes={"status": to_status, "stage": None, "updated_at": now},
    )
    if not moved:
        raise lost(connection, team_id, post_id, verb + " it")
    _audit(
        connection,
        post,
        actor.user_id,
        verdict,
        "pending",
        to_status,
        now,
        comment=reason,
        stage=stage,
    )
    return Decision(
        repo.as_post(moved), to_status, stage, (), (), now, actor.user_id, brand, reason
    )


def _approve(
    connection,
    post: Post,
    brand: Brand,
    actor: Actor,
    stage: str,
    now: datetime,
    override: str = "",
) -> Decision:
    """An approval of a checked, locked post, in the caller's transaction. At the team stage
    it covers the networks of the post the approver holds (``override``: an admin's reason,
    covering every network still waiting)."""
    covers = ""
    per_network: dict[str, list[str]] = {}
    if stage == "team":  # who may approve each network: read once for the click
        per_network = network_approvers_in(connection, post.team_id, post, brand)
        so_far = repo.approvals_of(connection, post.id, post.version, stage)  # type: ignore[arg-type]
        before = team_progress(post, brand, so_far, per_network)
        if override:
            covers = ",".join(before.waiting)
        else:
            covers = ",".join(_covered_by(before, post, brand, actor))
    added = repo.add_approval(
        connection,
        team_id=post.team_id,
        post_id=post.id,  # type: ignore[arg-type]
        version=post.version,
        stage=stage,
        approver=actor.user_id,
        at=now,
        networks=covers,
        override=override,
    )
    if not added:
        raise InvalidTransition("You have already approved this. Nothing changed.")
    approvers = tuple(repo.approvers_of(connection, post.id, post.version, stage))  # type: ignore[arg-type]
    rows: tuple = ()
    if stage == "team":
        now_approved = repo.approvals_of(connection, post.id, post.version, stage)  # type: ignore[arg-type]
        progress = team_progress(post, brand, now_approved, per_network)
        rows = progress.rows()
        waiting = () if progress.done else progress.owed_people()
        open_ = not progress.done
        count = f"{len(progress.complete)} of {len(progress.networks)} networks"
    else:
        needed = (
            stage_approvers_in(connection, post.team_id, post, brand, stage)
            if brand.approval_mode == "all"
            else []
        )
        waiting = tuple(uid for uid in needed if uid not in approvers)
        open_ = bool(waiting)
        count = f"{len(approvers)} of {len(needed)}"
    covered = ", ".join(NETWORK_LABELS[n] for n in covers.split(",") if n)
    if open_:  # this approval counts, the stage stays open
        _audit(
            connection,
            post,
            actor.user_id,
            "vote",  # one of several approvals the stage needs; not a status change
            "pending",
            "pending",
            now,
            stage=stage,
            comment=f"{covered} · {count}" if covered else count,
        )
        return Decision(
            post, "partial", stage, approvers, waiting, now, actor.user_id, brand, progress=rows
        )
    next_stage = "client" if stage == "team" and brand.client_approval else None
    changes = (
        {"stage": "client", "stage_at": now, "reminded_at": None, "updated_at": now}
        if next_stage
        else {"status": "approved", "stage": None, "updated_at": now}
    )
    moved = repo.transition(
        connection,
        post.id,  # type: ignore[arg-type]
        expect_status="pending",
        expect_version=post.version,
        expect_stage=stage,
        changes=changes,
    )
    if not moved:
        raise lost(connection, post.team_id, post.id, "approve it")  # type: ignore[arg-type]
    to = "pending" if next_stage else "approved"
    comment = f"approved as admin ({covered or 'every network'}): {override}" if override else ""
    if not comment and covered and len(rows) > 1:
        comment = covered
    _audit(connection, post, actor.user_id, "approve", "pending", to, now, comment, stage=stage)
    outcome = "stage_passed" if next_stage else "approved"
    return Decision(
        repo.as_post(moved),
        outcome,
        stage,
        approvers,
        (),
        now,
        actor.user_id,
        brand,
        override,
        progress=rows,
        override=bool(override),
    )


def _covered_by(before: Progress, post: Post, brand: Brand, actor: Actor) -> list[str]:
    """The networks an approver's click covers (every one of the post they approve for);
    refused when none of them still waits for them (someone covered them first)."""
    held = policy.networks_held(actor, facts(post, brand.name))
    mine = [n for n in before.networks if n in held]
    if any(actor.user_id in before.approved.get(n, ()) for n in mine):
        raise InvalidTransition("You have already approved this. Nothing changed.")
    if any(n in before.waiting for n in mine):
        return mine
    done = "; ".join(
        f"{NETWORK_LABELS[n]} by {', '.join(user(u) for u in before.approved.get(n, ())) or '—'}"
        for n in mine
    )
    rest = ", ".join(
        NETWORK_LABELS[n]
        + (f" ({', '.join(user(u) for u in before.owed.get(n, ()))})" if before.owed.get(n) else "")
        for n in before.waiting
    )
    return _refuse_done(done, rest)


def _refuse_done(done: str, rest: str):
    raise InvalidTransition(
        f"Your networks of this post are approved already ({done}); it now waits for "
        f"{rest}. Nothing changed."
    )


def cancel(
    db: Database, team_id: str, actor: Actor, post_id: int, now: datetime
) -> tuple[Post, str]:
    post, _ = get_for(db, team_id, actor, post_id, "cancel")
    if post.status not in EDITABLE:
        raise InvalidTransition(f"Post #{post_id} is already {STATUS_WORDS[post.status]}.")
    with db.write() as session:
        moved = repo.transition(
            session,
            post_id,
            expect_status=post.status,
            expect_version=post.version,
            changes={"status": "cancelled", "stage": None, "updated_at": now},
        )
        if not moved:
            raise lost(session, team_id, post_id, "cancel it")
        _audit(session, post, actor.user_id, "cancel", post.status, "cancelled", now)
        return repo.as_post(moved), post.status


# --- time-driven ---------------------------------------------------------------------------


def to_expire(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Unapproved posts whose scheduled time has come (a read)."""
    with db.read() as session:
        return repo.posts_to_expire(session, now, UNAPPROVED, post_id)


def expire_due(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Unapproved posts (or just ``post_id``) whose scheduled time has come become
    ``expired`` (each exactly once, whichever replica gets there first)."""
    candidates = to_expire(db, now, post_id)
    expired = []
    for post in candidates:
        with db.write() as session:
            moved = repo.transition(
                session,
                post.id,
                expect_status=post.status,
                expect_version=post.version,  # type: ignore[arg-type]
                changes={"status": "expired", "stage": None, "updated_at": now},
            )
            if moved:
                _audit(
                    session,
                    post,
                    "",
                    "expire",
                    post.status,
                    "expired",
                    now,
                    comment="scheduled time passed before approval",
                )
                expired.append(post)
    return expired


def to_remind(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Pending posts whose current stage has waited over 24 h without its reminder (a read)."""
    with db.read() as session:
        return repo.posts_to_remind(session, now - REMINDER_AFTER, post_id)


def reminders_due(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Pending posts (or just ``post_id``) whose current stage has waited over 24 h without
    its reminder, each claimed (so a stage of a version is reminded once, whichever replica
    gets there)."""
    candidates = to_remind(db, now, post_id)
    claimed = []
    for post in candidates:
        with db.write() as session:
            moved = repo.transition(
                session,
                post.id,  # type: ignore[arg-type]
                expect_status="pending",
                expect_version=post.version,
                expect_stage=post.stage,
                changes={"reminded_at": now},
                where=[Post.reminded_at.is_(None)],  # type: ignore[union-attr]
            )
            if moved:
                claimed.append(repo.as_post(moved))
    return claimed


def unremind(db: Database, post: Post) -> None:
    """Give back a reminder claim that could not be delivered (tried again next tick)."""
    with db.write() as session:
        repo.transition(
            session,
            post.id,  # type: ignore[arg-type]
            expect_status="pending",
            expect_version=post.version,
            expect_stage=post.stage,
            changes={"reminded_at": None},
        )


# --- shared --------------------------------------------------------------------------------

LOST_WORDS = {
    "approved": "approved",
    "rejected": "rejected",
    "changes_requested": "sent back for changes",
    "cancelled": "cancelled",
    "expired": "expired",
    "published": "marked published",
    "draft": "moved back to draft",
    "pending": "sent for approval",
}


def lost(session, team_id: str, post_id: int, attempted: str) -> InvalidTransition:
    """The error for a compare-and-set that found the post moved: who did what, when."""
    last = repo.last_post_change(session, team_id, post_id)
    if last is None:
        return InvalidTransition(f"Post #{post_id} changed meanwhile; nothing changed.")
    if last.action.startswith("approve") and last.to_state == "pending":
        what = "already approved at the team stage (it now waits for the client)"
    else:
        what = "already " + LOST_WORDS.get(last.to_state or "", last.to_state or "changed")
    who = f" by {user(last.actor)}" if last.actor else ""
    return InvalidTransition(
        f"Post #{post_id} was {what}{who} {date(last.at, '{time}')}, so you can't "
        f"{attempted} any more. Nothing changed."
    )


def _audit(
    session,
    post: Post,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    now: datetime,
    comment: str = "",
    stage: str | None = None,
) -> None:
    if stage:
        action = f"{action}:{stage}"
    repo.audit(
        session,
        post.team_id,
        "post",
        str(post.id),
        actor,
        action,
        now,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
    )


def history(db: Database, team_id: str, post_id: int) -> list[str]:
    """The audit trail of a post, one readable line each."""
    with db.read() as session:
        entries = repo.audit_trail(session, team_id, "post", str(post_id))
    lines = []
    for entry in entries:
        who = user(entry.actor) if entry.actor else "Postroom"
        action = entry.action.replace(":", " · ")
        change = f"{entry.from_state or '—'} → {entry.to_state}"
        note = f" — {escape(entry.comment[:300])}" if entry.comment else ""
        lines.append(f"{date(entry.at, '{date_short} {time}')} {who} {action}: {change}{note}")
    return lines
