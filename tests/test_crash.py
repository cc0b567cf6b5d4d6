"""Nothing acknowledged is ever lost: the app killed (``kill -9``) in the middle of a storm of
deliveries, started again, and Slack's retries sent; every piece of work is done exactly once
(issue 12, item 1). The app runs in a process of its own (tests/serve.py)."""

from __future__ import annotations

import os

import pytest

from tests import crashkit

pytestmark = pytest.mark.crash

N = int(os.environ.get("POSTROOM_CRASH_N", "200"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """Each drill runs on both databases: a SQLite file, or a schema of the local PostgreSQL
    (the app process opens it by URL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'postroom.db'}"
    return request.getfixturevalue("postgres_db").url


def check_reactions(outcome: crashkit.ReactionOutcome) -> None:
    drill = outcome.drill
    assert drill.acked, "nothing was acknowledged before the kill: the drill tested nothing"
    assert outcome.tickets == outcome.distinct_tickets == N, outcome
    assert outcome.cards == outcome.distinct_cards == N, outcome
    assert outcome.thread_replies == [1] * N, outcome
    assert outcome.pending_jobs == 0


def test_reactions_survive_a_kill(tmp_path, database_url):
    outcome = crashkit.reaction_crash(database_url, tmp_path / "app.log", n=N)
    check_reactions(outcome)


APPROVALS_N = int(os.environ.get("POSTROOM_CRASH_APPROVALS_N", "100"))


def check_approvals(outcome: crashkit.ApprovalOutcome) -> None:
    assert outcome.drill.acked, "nothing was acknowledged before the kill: the drill tested nothing"
    n = APPROVALS_N
    assert outcome.approved == n and outcome.approvals_each == [1] * n, outcome
    assert outcome.requests_decided == n, outcome
    assert outcome.author_dms == n, outcome
    assert outcome.pending_jobs == 0


def test_approve_clicks_survive_a_kill(tmp_path, database_url):
    outcome = crashkit.approval_crash(database_url, tmp_path / "app.log", n=APPROVALS_N)
    check_approvals(outcome)


DRAFTS_N = int(os.environ.get("POSTROOM_CRASH_DRAFTS_N", "60"))


def check_drafts(outcome: crashkit.DraftOutcome) -> None:
    assert outcome.acked, "nothing was acknowledged before the kill: the drill tested nothing"
    assert outcome.posts_of_acked == [1] * outcome.acked, outcome  # none lost, none doubled
    assert outcome.requests_of_acked == [1] * outcome.acked, outcome  # each sent once
    assert all(count <= 1 for count in outcome.posts_of_unanswered), outcome
    assert outcome.pending_jobs == 0


def test_draft_submissions_survive_a_kill(tmp_path, database_url):
    outcome = crashkit.draft_crash(database_url, tmp_path / "app.log", n=DRAFTS_N)
    check_drafts(outcome)


def check_publishing(outcome: crashkit.PublishOutcome) -> None:
    assert outcome.killed, "the app wasn't killed by the network's answer: nothing was tested"
    assert outcome.state_after_kill == "sending", outcome  # nothing committed after the post
    assert len(outcome.posted) == 1, outcome  # exactly one post on the network
    assert outcome.state == "published" and outcome.url == outcome.posted[0], outcome
    if outcome.network == "bluesky":
        # One createRecord at the record key derived from the delivery key; the try after the
        # restart reads that record back (getRecord) and posts nothing.
        assert len(outcome.tries) == 1 and outcome.url.endswith("/" + outcome.tries[0]), outcome
    else:  # Mastodon: both tries sent the same Idempotency-Key; the instance posted once
        assert len(outcome.tries) == 2 and set(outcome.tries) == {outcome.key}, outcome


@pytest.mark.parametrize("network", sorted(crashkit.PUBLISH_DRILLS))
def test_publishing_survives_a_kill_between_the_networks_answer_and_our_commit(
    tmp_path, database_url, network
):
    outcome = crashkit.publish_crash(database_url, tmp_path / "app.log", network)
    check_publishing(outcome)


@pytest.mark.bluesky
def test_a_post_due_on_both_networks_is_posted_once_on_each_across_a_kill(tmp_path, database_url):
    """PRODUCT.md §13: one approved post due on Bluesky and Mastodon; the app killed the
    moment Bluesky has made the post, before it hears of it; after the restart exactly one
    post on each network, both published with their URLs."""
    bluesky, mastodon = crashkit.publish_crash_on(
        database_url, tmp_path / "app.log", ("bluesky", "mastodon"), "bluesky"
    )
    check_publishing(bluesky)
    assert not mastodon.killed and len(mastodon.posted) == 1, mastodon
    assert mastodon.state == "published" and mastodon.url == mastodon.posted[0], mastodon
    assert set(mastodon.tries) == {mastodon.key}, mastodon  # every try with the same key


INBOX_N = int(os.environ.get("POSTROOM_CRASH_INBOX_N", "30"))


def test_inbox_mentions_survive_a_kill_in_the_middle_of_posting_them(tmp_path, database_url):
    """PRODUCT.md §14: customers mention the brand on Mastodon; the app, posting the mentions
    into the inbox channel, is killed by Slack the moment it has the 12th message (before the
    app hears so); more mentions come while it is down. After the restart every mention is in
    the channel exactly once, in the order made."""
    outcome = crashkit.inbox_crash(database_url, tmp_path / "app.log", n=INBOX_N, kill_at=12)
    assert outcome.killed, "the app wasn't killed by Slack's answer: nothing was tested"
    assert outcome.in_slack_at_kill == 12 and outcome.sending_at_kill == 1, outcome
    assert outcome.shown == list(range(outcome.mentions)), outcome  # once each, in order
    assert outcome.items == outcome.recorded == outcome.mentions, outcome


@pytest.mark.parametrize("kill_on", ["mastodon", "thread"])
def test_a_reply_survives_a_kill_after_the_network_or_slack_has_it(tmp_path, database_url, kill_on):
    """PRODUCT.md §14: Reply… submitted on an inbox ticket's card; the app killed the moment
    Mastodon has made the reply status, before it hears of it — or, the reply recorded as
    sent, the moment Slack has its line in the inbox message's thread. After the restart
    exactly one reply on the network, in the customer's thread, its link once on the card
    and in the inbox message's thread, its writer told once."""
    outcome = crashkit.reply_crash(database_url, tmp_path / "app.log", kill_on)
    assert outcome.killed, "the app wasn't killed at the drill's moment: nothing was tested"
    assert len(outcome.made) == 1, outcome  # exactly one status by the brand's account
    (made,) = outcome.made
    assert made["in_reply_to_id"] == outcome.answered, outcome
    assert outcome.state == "sent" and outcome.url == made["url"], outcome
    if kill_on == "mastodon":
        assert outcome.state_after_kill == "sending", outcome  # nothing committed after it
        # both tries sent the same Idempotency-Key; the instance posted once
        assert len(outcome.tries) == 2 and set(outcome.tries) == {outcome.key}, outcome
    else:  # recorded as sent before the kill: not tried again
        assert outcome.state_after_kill == "sent" and outcome.tries == [outcome.key], outcome
    assert outcome.cards == 1 and outcome.card_lines == 1, outcome
    lines = [line for line in outcome.thread_lines if "Replied by" in line]
    assert len(lines) == 1 and made["url"] in lines[0], outcome
    assert outcome.told == 1, outcome
