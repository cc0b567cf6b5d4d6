"""The admin replies (``bot/blocks/admin.py``): the usage, roles, brands and approvals
channels, each within Slack's limits, saying what the admin needs and never a secret twice."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks import admin
from bot.grammar import SUBCOMMANDS
from bot.policy import ROLE_HELP, ROLES, Grant
from bot.workspace import ChannelRoute, RoleView
from storage.models import Brand
from tests.blockkit import shown, valid_message

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)


def brand(name: str = "acme", **values) -> Brand:
    return Brand(id=1, team_id="T0001", name=name, created_at=AT, **values)


def test_the_usage_shows_admin_commands_to_admins_only():
    for_admin = shown(valid_message(admin.help_message(True)))
    for_member = shown(valid_message(admin.help_message(False)))
    for sub in SUBCOMMANDS.values():
        usage = f"`{sub.usage[0]}`"
        assert usage in for_admin
        assert (usage in for_member) is not sub.admin
    assert "Admins see more commands here" in for_member
    assert "Admins see more commands here" not in for_admin


def test_a_role_granted_or_already_held_says_which():
    grant = Grant("approver", frozenset({"x"}), "acme")
    granted = valid_message(admin.role_granted("UMARIA", grant, created=True))
    assert granted["text"] == f"<@UMARIA> is now {grant}: {ROLE_HELP['approver']}."
    again = valid_message(admin.role_granted("UMARIA", grant, created=False))
    assert again["text"] == f"<@UMARIA> already has {grant}. Nothing changed."
    removed = valid_message(admin.roles_removed("UMARIA", [grant, Grant("support")]))
    assert removed["text"] == f"Removed from <@UMARIA>: {grant}, {Grant('support')}."


def test_the_role_list_names_every_role_and_its_holders_and_pages_a_long_one():
    views = [RoleView("UMARIA", Grant("approver", frozenset({"x"})))]
    (only,) = admin.role_list(views, frozenset({"UBOSS"}))
    text = shown(valid_message(only))
    for role in ROLES:
        assert f"*{role}* — {ROLE_HELP[role]}" in text
    assert "• <@UMARIA> (" in text
    assert "• <@UBOSS> _(POSTROOM_ADMINS)_" in text
    assert "_nobody yet_" in text  # publisher, support, client
    many = [
        RoleView(f"U{n:07d}", Grant("support", brand=f"brand-{n}-" + "x" * 60)) for n in range(3000)
    ]
    pages = admin.role_list(many, frozenset())
    assert 1 < len(pages) <= 4
    for page in pages:
        valid_message(page)
    everyone = "\n".join(shown(page) for page in pages)
    assert all(f"<@U{n:07d}>" in everyone for n in range(3000))  # paged, never cut
    assert f"Postroom roles, continued ({len(pages)}/{len(pages)})" in shown(pages[-1])


def test_a_new_webhook_secret_is_shown_once_with_how_to_verify_it():
    saved = valid_message(admin.brand_saved(brand(), created=True, new_secret="whsec_abc"))
    assert saved["text"].startswith("Added brand *acme*: stages: team")
    assert "`whsec_abc`" in saved["text"]
    assert "shown only this once" in saved["text"]
    assert "no longer signs" not in saved["text"]
    replaced = admin.brand_saved(brand(), created=False, new_secret="whsec_new", replaced=True)
    assert replaced["text"].startswith("Updated brand *acme*")
    assert "The previous secret no longer signs" in replaced["text"]
    plain = valid_message(admin.brand_saved(brand(), created=False))
    assert "secret" not in plain["text"]


def test_the_brand_list_says_whether_a_secret_is_set_never_the_secret():
    sealed = brand("acme", webhook_url="https://hooks.example.com/a", webhook_secret="gAAAA-sealed")
    sealed.webhook_secret_at = AT
    older = brand("old", webhook_url="https://hooks.example.com/b", webhook_secret="abc123")
    (page,) = admin.brand_list([sealed, older, brand("bare")])
    text = shown(valid_message(page))
    assert "*acme*" in text and "*old*" in text and "*bare*" in text
    assert "signing secret set <!date^" in text
    assert "signing secret of an earlier release" in text
    assert "gAAAA-sealed" not in text and "abc123" not in text
    assert admin.secret_line(brand("bare")) == ""


def test_approvals_channels_are_listed_with_their_stage_brand_and_network():
    routes = [
        ChannelRoute("CAPPROVE", None, None, "team"),
        ChannelRoute("CCLIENT", "acme", "x", "client"),
    ]
    assert admin.route_line(routes[0]) == "<#CAPPROVE> ← team approval, every brand, every network"
    assert admin.route_line(routes[1]) == "<#CCLIENT> ← client approval, brand acme, X"
    (set_,) = admin.approvals_set(routes, joined=True, warning="Clients can read <#CCLIENT>.")
    text = shown(valid_message(set_))
    assert "Approval requests will go to:" in text
    assert "I joined <#CAPPROVE> so I can post there." in text
    assert "Clients can read <#CCLIENT>." in text
    listed = "\n".join(shown(valid_message(m)) for m in admin.approvals_list(routes))
    assert "<#CCLIENT> ← client approval" in listed
    nothing = "\n".join(shown(valid_message(m)) for m in admin.approvals_list([]))
    assert nothing
