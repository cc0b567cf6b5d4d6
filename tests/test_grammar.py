"""Parsing what people type after /post: escaped mentions, options, and specific refusals."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import grammar, reading
from bot.errors import UsageError
from bot.policy import Actor, Grant


def test_tokens_keep_slack_escapes_whole():
    assert reading.tokens("role add <@U1|maria lopez> approver") == [
        "role",
        "add",
        "<@U1|maria lopez>",
        "approver",
    ]


@pytest.mark.parametrize("token", ["<@U123ABC>", "<@U123ABC|maria>", "<@W123ABC|maria>"])
def test_user_mentions(token):
    assert reading.user_id(token, "") == token[2:].split("|")[0].rstrip(">")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("<#C123|social>", reading.ChannelRef("C123", "social")),
        ("<#C123|>", reading.ChannelRef("C123", None)),
        ("<#G999>", reading.ChannelRef("G999", None)),
    ],
)
def test_channel_mentions(token, expected):
    assert reading.channel(token, "") == expected


def test_plain_at_name_gets_a_hint():
    with pytest.raises(UsageError, match="isn't a Slack mention. Type `@` and pick"):
        reading.user_id("@maria", "")


def test_plain_hash_channel_gets_a_hint():
    with pytest.raises(UsageError, match="isn't a channel link"):
        reading.channel("#social", "")


def test_split_defaults_to_help():
    assert grammar.split("   ") == grammar.Invocation("help", [])
    assert grammar.split("ROLE list") == grammar.Invocation("role", ["list"], "list")
    assert grammar.split("draft  Hello <@U1|m>\nline two").rest == "Hello <@U1|m>\nline two"


def test_unknown_subcommand_suggests_the_closest():
    assert "Did you mean `/post role`?" in str(grammar.unknown("rol"))
    assert "Did you mean" not in str(grammar.unknown("zzzzzz"))


def test_role_change_with_aliases_and_brand():
    change = grammar.parse_role_change(["<@U1|m>", "Approver", "ig", "twitter", "brand:Acme"])
    assert change == grammar.RoleChange("U1", "approver", frozenset({"instagram", "x"}), "acme")


def test_role_change_without_scope():
    assert grammar.parse_role_change(["<@U1>", "support"]).networks is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Name a person and a role"),
        (["<@U1>", "aprover"], "Did you mean `approver`?"),
        (["<@U1>", "approver", "instagam"], "Did you mean `instagram`?"),
        (["<@U1>", "approver", "stage:client"], "`stage:` isn't an option here"),
        (["<@U1>", "approver", "brand:Not A Name!"], "isn't a usable brand name"),
    ],
)
def test_role_change_refusals_are_specific(args, message):
    with pytest.raises(UsageError) as refused:
        grammar.parse_role_change(args)
    assert message in str(refused.value)
    assert "/post role add @user ROLE" in refused.value.usage


def test_brand_flags():
    name, policy = grammar.parse_brand(
        ["Acme", "client-approval", "all", "self-approval", "webhook:<https://h.example/x>"]
    )
    assert name == "acme"
    assert (
        policy.client_approval,
        policy.approval_mode,
        policy.self_approval,
        policy.webhook_url,
    ) == (True, "all", True, "https://h.example/x")
    assert grammar.parse_brand(["acme", "webhook:off"])[1].webhook_url == ""


def test_brand_refusals():
    with pytest.raises(UsageError, match="Did you mean `client-approval`"):
        grammar.parse_brand(["acme", "client-aproval"])
    with pytest.raises(UsageError, match="must be an http"):
        grammar.parse_brand(["acme", "webhook:ftp://x"])


def test_approvals_parse():
    parsed = grammar.parse_approvals(["<#C9|clients>", "li", "brand:acme", "stage:client"])
    assert parsed.channel.id == "C9"
    assert parsed.networks == {"linkedin"} and parsed.brand == "acme" and parsed.stage == "client"
    with pytest.raises(UsageError, match="stage:client"):
        grammar.parse_approvals(["<#C9|x>", "stage:boss"])


def test_actor_roles_and_admin_sources():
    grant = Grant("approver", frozenset({"instagram"}), "acme")
    actor = Actor("U1", grants=(grant,))
    assert actor.has_role("approver", "instagram", "acme")
    assert not actor.has_role("approver", "x", "acme")
    assert not actor.has_role("approver", "instagram", "other")
    assert not actor.is_admin
    assert Actor("U1", workspace_admin=True).is_admin
    assert Actor("U1", configured_admin=True).is_admin
    assert Actor("U1", grants=(Grant("admin"),)).is_admin
    assert Grant("approver").covers("approver", "x", "any-brand")


def test_every_subcommand_has_a_handler_and_every_handler_is_documented():
    from handlers.commands import SUBCOMMAND_HANDLERS

    assert set(SUBCOMMAND_HANDLERS) == set(grammar.SUBCOMMANDS)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "Name the channel: `/post inbox #channel"),
        (["off"], "Name the channel: `/post inbox off #channel`"),
        (["list", "now"], "`/post inbox list` takes nothing after it."),
        (["lsit"], "Did you mean `/post inbox list`?"),
        (["<#C123|x>", "brand:"], "brand"),
    ],
)
def test_a_malformed_inbox_command_says_what_is_wrong_and_the_usage(args, says):
    with pytest.raises(UsageError) as refused:
        grammar.parse_inbox(args)
    assert says in str(refused.value)
    assert "/post inbox #channel [brand:NAME]" in refused.value.usage


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=4))
def test_any_inbox_command_parses_or_is_refused_with_the_usage(args):
    try:
        parsed = grammar.parse_inbox(args)
    except UsageError as refused:
        assert str(refused) and refused.usage
    else:
        assert parsed.action in ("set", "off", "list")
