"""Who may do what (``bot/policy.py``), on plain values: every rule as a table of the people
it allows, checked for every kind of person — roles (admin, workspace admin, configured
admin, approvers scoped by network and brand, publishers, support, a brand's client, a plain
member) × brands × networks × stages."""

from __future__ import annotations

import pytest

from bot import policy
from bot.policy import Actor, Grant, PostFacts


def _grant(role: str, networks: tuple[str, ...] = (), brand: str | None = None) -> Grant:
    return Grant(role, frozenset(networks), brand)


def _person(uid: str, *grants: Grant, **flags: bool) -> Actor:
    return Actor(uid, grants=tuple(grants), **flags)


PEOPLE: dict[str, Actor] = {
    "admin": _person("UADMIN", _grant("admin")),
    "workspace_admin": _person("UWSADMIN", workspace_admin=True),
    "configured_admin": _person("UCFGADMIN", configured_admin=True),
    "approver_x_acme": _person("UAPPXACME", _grant("approver", ("x",), "acme")),
    "approver_ig": _person("UAPPIG", _grant("approver", ("instagram",))),
    "approver": _person("UAPP", _grant("approver")),
    "publisher_x_acme": _person("UPUBXACME", _grant("publisher", ("x",), "acme")),
    "publisher": _person("UPUB", _grant("publisher")),
    "support_acme": _person("USUPACME", _grant("support", brand="acme")),
    "support": _person("USUP", _grant("support")),
    "client_acme": _person("UCLIACME", _grant("client", brand="acme")),
    "client_acme_x": _person("UCLIACMEX", _grant("client", ("x",), "acme")),
    "client_two": _person(
        "UCLITWO", _grant("client", brand="acme"), _grant("client", brand="globex")
    ),
    "client_support": _person(
        "UCLISUP", _grant("client", brand="acme"), _grant("support", brand="acme")
    ),
    "member": _person("UMEMBER"),
}

ADMINS = {"admin", "workspace_admin", "configured_admin"}
CLIENTS_ONLY = {"client_acme", "client_acme_x", "client_two"}
EVERYONE = set(PEOPLE)


def _cases(table: list[tuple]) -> list:
    """One case per (row of ``table``, person): the row's arguments, the person, and whether
    the row allows them."""
    return [
        pytest.param(*args, name, name in allowed, id=f"{'-'.join(map(str, args))}-{name}")
        for *args, allowed in table
        for name in PEOPLE
    ]


# --- approving: stage team per network, stage client per post ------------------------------

POSTS = {
    "x@acme": PostFacts("UMEMBER", frozenset({"x"}), "acme"),
    "x+ig@globex": PostFacts("UMEMBER", frozenset({"x", "instagram"}), "globex"),
    "x+ig@acme by approver": PostFacts("UAPP", frozenset({"x", "instagram"}), "acme"),
    "ig@acme by admin": PostFacts("UADMIN", frozenset({"instagram"}), "acme"),
}

DECISIONS = [
    ("x@acme", "team", False, {"approver_x_acme", "approver"}),
    ("x@acme", "client", False, {"client_acme", "client_acme_x", "client_two", "client_support"}),
    ("x+ig@globex", "team", False, {"approver_ig", "approver"}),
    ("x+ig@globex", "client", False, {"client_two"}),
    ("x+ig@acme by approver", "team", False, {"approver_x_acme", "approver_ig"}),
    ("x+ig@acme by approver", "team", True, {"approver_x_acme", "approver_ig", "approver"}),
    ("x+ig@acme by approver", "client", False, {"client_acme", "client_two", "client_support"}),
    ("ig@acme by admin", "team", False, {"approver_ig", "approver"}),
]


@pytest.mark.parametrize(("post", "stage", "self_approval", "who", "allowed"), _cases(DECISIONS))
def test_decision(post: str, stage: str, self_approval: bool, who: str, allowed: bool) -> None:
    actor, facts = PEOPLE[who], POSTS[post]
    for verb in ("approve", "reject", "request changes on"):
        refusal = policy.decision_refusal(actor, facts, stage, self_approval, verb)
        assert (refusal is None) is allowed, refusal
        if refusal:
            assert verb in refusal
    if actor.user_id != facts.author:
        assert policy.holds_stage(actor, facts, stage) is allowed


NETWORKS_HELD = [
    ("x+ig@acme by approver", "team", "approver_x_acme", {"x"}),
    ("x+ig@acme by approver", "team", "approver_ig", {"instagram"}),
    ("x+ig@acme by approver", "team", "approver", {"x", "instagram"}),
    ("x+ig@globex", "team", "approver_x_acme", set()),
    ("x+ig@globex", "team", "admin", set()),
    ("x+ig@acme by approver", "client", "client_acme_x", {"x"}),
    ("x+ig@acme by approver", "client", "client_acme", {"x", "instagram"}),
    ("x+ig@globex", "client", "client_acme", set()),
]


@pytest.mark.parametrize(("post", "stage", "who", "held"), NETWORKS_HELD)
def test_networks_held(post: str, stage: str, who: str, held: set[str]) -> None:
    assert policy.networks_held(PEOPLE[who], POSTS[post], stage) == held


def test_decision_sentences() -> None:
    """The sentences people read (the app tests assert them through Slack too)."""
    post = POSTS["x+ig@acme by approver"]
    assert policy.decision_refusal(PEOPLE["approver"], post, "team", False) == (
        "You wrote this post, so someone else has to approve it (four-eyes). "
        "An admin can allow self-approval with `/post brand set acme self-approval`."
    )
    assert policy.decision_refusal(PEOPLE["member"], post, "team", False) == (
        "You aren't an approver, so you can't approve this post. Approvers for X or Instagram "
        "in brand acme can; an admin grants it with `/post role add @user approver`."
    )
    assert policy.decision_refusal(PEOPLE["admin"], post, "team", False, "reject") == (
        "You aren't an approver, so you can't reject this post. Approvers for X or Instagram "
        "in brand acme can; an admin grants it with `/post role add @user approver`."
    )
    assert policy.decision_refusal(PEOPLE["admin"], post, "team", False) == (
        "You aren't an approver, so you can't approve this post. Approvers for X or Instagram "
        "in brand acme can; an admin grants it with `/post role add @user approver`. As an "
        "admin you can *approve as admin* instead (with a reason, recorded as an override)."
    )
    globex = POSTS["x+ig@globex"]
    assert policy.decision_refusal(PEOPLE["approver_x_acme"], globex, "team", False) == (
        "You can't approve this post: it goes to X or Instagram, and you are approver (X · "
        "brand acme). Each network is approved by an approver of that network."
    )
    assert policy.decision_refusal(PEOPLE["client_acme"], globex, "client", False) == (
        "Only the client of brand globex can approve at the client stage, and you aren't "
        "this brand's client."
    )
    # At the client stage the author (on the team) hears that the client decides, first.
    assert policy.decision_refusal(PEOPLE["approver"], post, "client", False) == (
        "Only the client of brand acme can approve at the client stage, and you aren't this "
        "brand's client."
    )


OVERRIDES = [
    ("x@acme", "team", False, ADMINS),
    ("x@acme", "client", False, set()),
    ("x+ig@globex", "team", False, ADMINS),
    ("ig@acme by admin", "team", False, ADMINS - {"admin"}),
    ("ig@acme by admin", "team", True, ADMINS),
]


@pytest.mark.parametrize(("post", "stage", "self_approval", "who", "allowed"), _cases(OVERRIDES))
def test_override(post: str, stage: str, self_approval: bool, who: str, allowed: bool) -> None:
    refusal = policy.override_refusal(PEOPLE[who], POSTS[post], stage, self_approval)
    assert (refusal is None) is allowed, refusal


def test_override_sentences() -> None:
    post = POSTS["ig@acme by admin"]
    assert policy.override_refusal(PEOPLE["approver"], post, "team", False) == (
        "Only admins can approve as admin (an audited override of the team stage)."
    )
    assert policy.override_refusal(PEOPLE["workspace_admin"], post, "client", False) == (
        "Approve as admin passes the team stage only: at the client stage, only the client "
        "of brand acme can approve."
    )
    assert policy.override_refusal(PEOPLE["admin"], post, "team", False) == (
        "You wrote this post, so someone else has to approve it (four-eyes), even as an admin."
    )


# --- drafting and managing a post -----------------------------------------------------------

MANAGING = [
    ("UMEMBER", ADMINS | {"member"}),
    ("UCLIACME", ADMINS | {"client_acme"}),
    ("UNOBODY", ADMINS),
]


@pytest.mark.parametrize(("author", "who", "allowed"), _cases(MANAGING))
def test_manage_post(author: str, who: str, allowed: bool) -> None:
    refusal = policy.manage_refusal(PEOPLE[who], 7, author, "edit")
    assert (refusal is None) is allowed
    assert policy.may_manage_post(PEOPLE[who], author) is allowed
    if refusal:
        assert refusal == f"Only the author of post #7 (<@{author}>) or an admin can edit it."


DRAFTING = [("anyone", EVERYONE), ("roles", EVERYONE - {"member"})]


@pytest.mark.parametrize(("drafting", "who", "allowed"), _cases(DRAFTING))
def test_drafting(drafting: str, who: str, allowed: bool) -> None:
    refusal = policy.drafting_refusal(PEOPLE[who], drafting)
    assert (refusal is None) is allowed
    if refusal:
        assert refusal == (
            "Drafting is limited to people with a Postroom role here. Ask an admin to give you "
            "one (`/post role add`), or to open drafting to everyone (`/post drafting anyone`)."
        )


# --- marking a network published or failed --------------------------------------------------

MARKING = [
    ("acme", ("x",), ADMINS | {"member", "publisher_x_acme", "publisher"}),
    ("acme", ("instagram",), ADMINS | {"member", "publisher"}),
    ("acme", ("x", "instagram"), ADMINS | {"member", "publisher"}),
    ("globex", ("x",), ADMINS | {"member", "publisher"}),
]


@pytest.mark.parametrize(("brand", "networks", "who", "allowed"), _cases(MARKING))
def test_mark(brand: str, networks: tuple[str, ...], who: str, allowed: bool) -> None:
    post = PostFacts("UMEMBER", frozenset(networks), brand)  # the member wrote it
    refusal = policy.mark_refusal(PEOPLE[who], 12, post, networks)
    assert (refusal is None) is allowed
    for network in networks:
        assert policy.may_mark(PEOPLE[who], post, network) is (
            policy.mark_refusal(PEOPLE[who], 12, post, [network]) is None
        )


def test_mark_any_network_and_sentences() -> None:
    """A publisher of one network of the post may mark (that network): the buttons of an
    earlier release named no network."""
    post = PostFacts("UMEMBER", frozenset({"x", "instagram"}), "acme")
    assert policy.may_mark(PEOPLE["publisher_x_acme"], post)
    assert not policy.may_mark(PEOPLE["publisher_x_acme"], post, "instagram")
    assert not policy.may_mark(PEOPLE["support"], post)
    assert policy.mark_refusal(PEOPLE["publisher_x_acme"], 12, post, ["x", "instagram"]) == (
        "Only a publisher for this post's networks (X, Instagram here, brand acme), its author "
        "or an admin can mark post #12 published on X, Instagram."
    )
    assert policy.mark_refusal(PEOPLE["client_acme"], 12, post, ["x"], outcome="failed") == (
        "Only a publisher for this post's networks (X here, brand acme), its author or an "
        "admin can mark post #12 failed on X."
    )


# --- tickets --------------------------------------------------------------------------------

HANDLING = [
    ("acme", ADMINS | {"support_acme", "support", "client_support"}),
    ("globex", ADMINS | {"support"}),
    (None, ADMINS | {"support"}),
]


@pytest.mark.parametrize(("brand", "who", "allowed"), _cases(HANDLING))
def test_tickets_handled(brand: str | None, who: str, allowed: bool) -> None:
    actor = PEOPLE[who]
    assert policy.handles_tickets(actor, brand) is allowed
    refusal = policy.ticket_refusal(actor, brand, "resolve")
    assert (refusal is None) is allowed
    if refusal:
        assert refusal == (
            "Only support people (role `support`) or admins can resolve tickets. An admin "
            "grants it with `/post role add @user support`."
        )
    assert (policy.assignee_refusal(actor, brand, "CSUP") is None) is allowed


def test_assignee_sentences() -> None:
    assert policy.assignee_refusal(PEOPLE["client_two"], "acme", "CSUP") == (
        "<@UCLITWO> can't have tickets of <#CSUP>: they go only to people with the `support` "
        "role for brand acme, or admins. <@UCLITWO> is a client (acme, globex). An admin grants "
        "the role with `/post role add @user support brand:acme`."
    )
    assert policy.assignee_refusal(PEOPLE["support_acme"], None, "CSUP") == (
        "<@USUPACME> can't have tickets of <#CSUP>: they go only to people with the `support` "
        "role for every brand, or admins. An admin grants the role with "
        "`/post role add @user support`."
    )


TICKET_LISTS = [
    ("open", ADMINS | {"support_acme", "support", "client_support"}),
    ("mine", EVERYONE - CLIENTS_ONLY),
]


@pytest.mark.parametrize(("which", "who", "allowed"), _cases(TICKET_LISTS))
def test_ticket_lists(which: str, who: str, allowed: bool) -> None:
    refusal = policy.ticket_list_refusal(PEOPLE[who], which)
    assert (refusal is None) is allowed
    if who in CLIENTS_ONLY:
        assert refusal == (
            "Tickets quote customers' messages, so they are for the team's support people and "
            "admins."
        )
    elif refusal:
        assert refusal == (
            "The ticket list quotes customers' messages, so it is for support people and "
            "admins. `/post tickets mine` lists the ones assigned to you."
        )


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_playbook(who: str) -> None:
    refusal = policy.playbook_refusal(PEOPLE[who])
    if who in CLIENTS_ONLY:
        assert refusal == "Complaint playbooks are the team's notes, for its support people."
    else:
        assert refusal is None


# --- reports and digests --------------------------------------------------------------------

RUNNERS = EVERYONE - CLIENTS_ONLY - {"member"}
REPORT_REFUSAL = (
    "Team reports name people and cover every brand, so they are for admins and people with "
    "a Postroom role (approver, publisher, support). An admin can grant one with "
    "`/post role add`."
)


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_reports(who: str) -> None:
    actor = PEOPLE[who]
    assert policy.may_run_reports(actor) is (who in RUNNERS)
    assert policy.report_refusal(actor) == (None if who in RUNNERS else REPORT_REFUSAL)
    # The list of weekly reports: the team's (the plain member too), never a brand's client.
    assert policy.weekly_list_refusal(actor) == (REPORT_REFUSAL if who in CLIENTS_ONLY else None)
    assert policy.report_in_channel(actor) is (who in ADMINS)


DIGEST_PREVIEWS = [
    ("acme", EVERYONE),
    ("globex", EVERYONE),  # a client of acme alone previews acme's (the caller picks it)
    (None, EVERYONE - {"client_two"}),
]


@pytest.mark.parametrize(("brand", "who", "allowed"), _cases(DIGEST_PREVIEWS))
def test_digest_preview(brand: str | None, who: str, allowed: bool) -> None:
    refusal = policy.digest_preview_refusal(PEOPLE[who], brand)
    assert refusal == (
        None
        if allowed
        else "The digest here covers brands you don't work on. "
        "`/post calendar` shows your brands' posts."
    )


# --- what people see ------------------------------------------------------------------------

SEES_BRAND = [
    ("acme", EVERYONE),
    ("globex", EVERYONE - {"client_acme", "client_acme_x"}),
    (None, EVERYONE - CLIENTS_ONLY),
]


@pytest.mark.parametrize(("brand", "who", "allowed"), _cases(SEES_BRAND))
def test_sees_brand(brand: str | None, who: str, allowed: bool) -> None:
    assert policy.sees_brand(PEOPLE[who], brand) is allowed


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_visible_brands_and_team_work(who: str) -> None:
    actor = PEOPLE[who]
    expected = {
        "client_acme": {"acme"},
        "client_acme_x": {"acme"},
        "client_two": {"acme", "globex"},
    }.get(who)
    assert policy.visible_brands(actor) == expected
    assert policy.sees_team_work(actor) is (who not in CLIENTS_ONLY)
    # A client never sees tickets, unless they handle them (support) too.
    assert policy.sees_tickets(actor) is (who not in CLIENTS_ONLY)
    assert policy.may_configure(actor) is (who in ADMINS)
    assert policy.may_override(actor) is (who in ADMINS)


def test_sees_tickets_client_with_another_role() -> None:
    """A client who is also an approver sees the team's work (calendar) but not tickets."""
    both = _person("UBOTH", _grant("client", brand="acme"), _grant("approver", ("x",)))
    assert policy.sees_team_work(both)
    assert not policy.sees_tickets(both)


def test_only_brands_sentence() -> None:
    assert policy.only_brands_sentence(PEOPLE["client_two"], "guide") == (
        "You can see the guide of brand `acme`, `globex` only."
    )


def test_admin_refusal() -> None:
    assert policy.admin_refusal(PEOPLE["member"], "change rotas", ["UB", "UA", "UB"]) == (
        "Only admins can change rotas. Ask Postroom admins (<@UA>, <@UB>) or a Slack workspace "
        "admin or owner."
    )
    unknown = Actor("UX", slack_role_unknown=True)
    assert policy.admin_refusal(unknown, "change rotas", []) == (
        "Only admins can change rotas. Ask a Postroom admin or a Slack workspace admin or "
        "owner. (Slack didn't tell me just now whether you are a workspace admin; if you are, "
        "try again in a minute.)"
    )


# --- replies to the networks: support for the brand, or admins; approval as a post's team stage

REPLYING = [
    ("acme", ADMINS | {"support_acme", "support", "client_support"}),
    ("globex", ADMINS | {"support"}),
]


@pytest.mark.parametrize(("brand", "who", "allowed"), _cases(REPLYING))
def test_reply(brand: str, who: str, allowed: bool) -> None:
    assert (policy.reply_refusal(PEOPLE[who], brand) is None) is allowed


REPLY_DECISIONS = [
    # (network, brand, the reply's writer, self-approval)
    ("x", "acme", "UMEMBER", False, {"approver_x_acme", "approver"}),
    ("instagram", "acme", "UMEMBER", False, {"approver_ig", "approver"}),
    ("x", "globex", "UMEMBER", False, {"approver"}),
    ("x", "acme", "UAPP", False, {"approver_x_acme"}),
    ("x", "acme", "UAPP", True, {"approver_x_acme", "approver"}),
]


@pytest.mark.parametrize(
    ("network", "brand", "writer", "self_approval", "who", "allowed"), _cases(REPLY_DECISIONS)
)
def test_reply_decision(
    network: str, brand: str, writer: str, self_approval: bool, who: str, allowed: bool
) -> None:
    refusal = policy.reply_decision_refusal(
        PEOPLE[who], writer, network, brand, self_approval, "approve"
    )
    assert (refusal is None) is allowed


def test_reply_sentences() -> None:
    said = policy.reply_refusal(PEOPLE["client_acme"], "acme")
    assert said is not None and "`/post role add @user support brand:acme`" in said
    own = policy.reply_decision_refusal(PEOPLE["approver"], "UAPP", "x", "acme", False, "reject")
    assert own is not None and "someone else has to reject it (four-eyes)" in own
    other = policy.reply_decision_refusal(
        PEOPLE["approver_ig"], "UMEMBER", "x", "acme", False, "approve"
    )
    assert other is not None and "Only an approver for X in brand acme" in other
