"""Domain rules for roles, brands and approvals channels, on plain values and a real database."""

from datetime import timedelta

import pytest

from bot import outbound, vault, workspace
from bot.caller import Caller
from bot.errors import NotFound, PermissionDenied, ValidationFailed
from bot.policy import Actor, Grant
from bot.workspace import BrandPolicy, ChannelRoute, approvals_channel_for
from storage import repo
from tests.stack import SECRET_KEY

TEAM = "T0001"
ADMIN = Actor("UADMIN", configured_admin=True)
MEMBER = Actor("UMEMBER")


@pytest.fixture
def team(db, clock):
    workspace.ensure_team(db, TEAM, clock.now())
    return db


def test_first_contact_creates_the_workspace_and_default_brand_once(team, clock):
    workspace.ensure_team(team, TEAM, clock.now())
    assert [b.name for b in workspace.list_brands(team, TEAM)] == ["default"]


def test_admin_grants_a_scoped_role_and_it_is_audited(team, clock):
    workspace.add_brand(
        team, Caller.known(TEAM, ADMIN, {"UADMIN"}), clock.now(), "acme", BrandPolicy()
    )
    grant, created = workspace.add_role(
        team,
        Caller.known(TEAM, ADMIN, {"UADMIN"}),
        clock.now(),
        "U1",
        "approver",
        frozenset({"instagram"}),
        "acme",
    )
    assert created and grant == Grant("approver", frozenset({"instagram"}), "acme")
    assert workspace.grants_of(team, TEAM, "U1") == (grant,)
    with team.read() as session:
        trail = repo.audit_trail(session, TEAM, "role", "U1")
    assert [(e.actor, e.action, e.to_state) for e in trail] == [
        ("UADMIN", "grant", "approver (Instagram · brand acme)")
    ]


def test_granting_twice_changes_nothing(team, clock):
    args = (team, Caller.known(TEAM, ADMIN), clock.now(), "U1", "support", frozenset(), None)
    assert workspace.add_role(*args)[1] is True
    assert workspace.add_role(*args)[1] is False
    assert len(workspace.list_roles(team, TEAM)) == 1


def test_non_admin_is_refused_and_told_who_can(team, clock):
    with pytest.raises(PermissionDenied) as refused:
        workspace.add_role(
            team,
            Caller.known(TEAM, MEMBER, {"UADMIN"}),
            clock.now(),
            "U1",
            "approver",
            frozenset(),
            None,
        )
    assert "Only admins can grant roles" in str(refused.value)
    assert "<@UADMIN>" in str(refused.value)
    assert workspace.list_roles(team, TEAM) == []


def test_admin_role_cannot_be_scoped(team, clock):
    with pytest.raises(ValidationFailed):
        workspace.add_role(
            team, Caller.known(TEAM, ADMIN), clock.now(), "U1", "admin", frozenset({"x"}), None
        )


def test_unknown_brand_is_named(team, clock):
    with pytest.raises(NotFound, match="no brand `nope`"):
        workspace.add_role(
            team, Caller.known(TEAM, ADMIN), clock.now(), "U1", "client", frozenset(), "nope"
        )


def test_remove_exact_scope_or_all_of_a_role(team, clock):
    now = clock.now()
    for nets in ({"x"}, {"instagram"}):
        workspace.add_role(
            team, Caller.known(TEAM, ADMIN), now, "U1", "approver", frozenset(nets), None
        )
    removed = workspace.remove_role(
        team, Caller.known(TEAM, ADMIN), now, "U1", "approver", frozenset({"x"}), None
    )
    assert removed == [Grant("approver", frozenset({"x"}))]
    with pytest.raises(NotFound, match="they have: approver \\(Instagram\\)"):
        workspace.remove_role(
            team, Caller.known(TEAM, ADMIN), now, "U1", "approver", frozenset({"facebook"}), None
        )
    assert (
        len(
            workspace.remove_role(
                team, Caller.known(TEAM, ADMIN), now, "U1", "approver", None, None
            )
        )
        == 1
    )
    with pytest.raises(NotFound, match="doesn't have the approver role"):
        workspace.remove_role(team, Caller.known(TEAM, ADMIN), now, "U1", "approver", None, None)


def test_brand_policy_add_set_and_duplicate(team, clock):
    brand = workspace.add_brand(
        team,
        Caller.known(TEAM, ADMIN),
        clock.now(),
        "acme",
        BrandPolicy(client_approval=True, approval_mode="all"),
    )
    assert (brand.client_approval, brand.approval_mode, brand.self_approval) == (True, "all", False)
    with pytest.raises(ValidationFailed, match="already exists"):
        workspace.add_brand(team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy())
    brand = workspace.set_brand(
        team,
        Caller.known(TEAM, ADMIN),
        clock.now() + timedelta(minutes=1),
        "acme",
        BrandPolicy(self_approval=True, webhook_url="https://hooks.example/p"),
        hosts=outbound.Policy(resolve=lambda host, port: ["93.184.215.14"]),
        keyring=vault.Keyring([SECRET_KEY]),
    )
    assert brand.self_approval and brand.client_approval
    assert brand.webhook_url == "https://hooks.example/p"
    brand = workspace.set_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy(webhook_url="")
    )
    assert brand.webhook_url is None


def test_approvals_channel_per_network_replaces_the_previous_one(team, clock):
    now = clock.now()
    workspace.set_approvals_channel(
        team, Caller.known(TEAM, ADMIN), now, "C1", frozenset(), None, "team"
    )
    workspace.set_approvals_channel(
        team, Caller.known(TEAM, ADMIN), now, "C2", frozenset({"instagram", "x"}), None, "team"
    )
    workspace.set_approvals_channel(
        team, Caller.known(TEAM, ADMIN), now, "C3", frozenset({"x"}), None, "team"
    )
    routes = {(r.network, r.channel_id) for r in workspace.approvals_channels(team, TEAM)}
    assert routes == {(None, "C1"), ("instagram", "C2"), ("x", "C3")}


def test_client_stage_needs_a_brand(team, clock):
    with pytest.raises(ValidationFailed, match="brand:NAME"):
        workspace.set_approvals_channel(
            team, Caller.known(TEAM, ADMIN), clock.now(), "C1", frozenset(), None, "client"
        )


def test_most_specific_approvals_channel_wins():
    routes = [
        ChannelRoute("CDEFAULT", None, None, "team"),
        ChannelRoute("CIG", None, "instagram", "team"),
        ChannelRoute("CACME", "acme", None, "team"),
        ChannelRoute("CACMEIG", "acme", "instagram", "team"),
        ChannelRoute("CCLIENT", "acme", None, "client"),
    ]
    assert approvals_channel_for(routes, "default", {"x"}, "team") == "CDEFAULT"
    assert approvals_channel_for(routes, "default", {"instagram"}, "team") == "CIG"
    assert approvals_channel_for(routes, "acme", {"x"}, "team") == "CACME"
    assert approvals_channel_for(routes, "acme", {"instagram", "x"}, "team") == "CACMEIG"
    assert approvals_channel_for(routes, "acme", {"x"}, "client") == "CCLIENT"
    assert approvals_channel_for(routes, "other", {"x"}, "client") is None
