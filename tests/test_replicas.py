"""Replicas, proven (issue 14, item 3): three app processes on one PostgreSQL behind HAProxy
(round robin, health check on ``GET /healthz``), a mixed load from Slack's stand-in through
the balancer, a digest and a weekly report falling due, one replica killed with ``kill -9``
mid-way and started again. Every delivery is handled once, nothing is lost, one digest per
channel, one report per week. Skipped without HAProxy, unless POSTROOM_REQUIRE_REPLICAS is
set (.ci/run installs it and sets it)."""

from __future__ import annotations

import os

import pytest

from tests import replicakit

pytestmark = [pytest.mark.replicas, pytest.mark.postgres]


@pytest.fixture
def balancer_installed() -> None:
    if replicakit.haproxy() is None:
        if os.environ.get("POSTROOM_REQUIRE_REPLICAS"):
            pytest.fail("HAProxy isn't installed (apt-get install haproxy)")
        pytest.skip("HAProxy isn't installed (apt-get install haproxy; .ci/run does)")


def test_three_replicas_behind_haproxy_handle_everything_once(
    balancer_installed, tmp_path, postgres_db
):
    outcome = replicakit.replica_drill(postgres_db.url, tmp_path)
    load = outcome.load
    assert load.acked, "nothing was acknowledged: the drill tested nothing"
    # round robin: every replica took a share of the load (the killed one before and after)
    assert len(outcome.served) == replicakit.REPLICAS, outcome.served
    assert min(outcome.served) > 50, outcome.served
    n = outcome.reactions
    # each reaction: exactly one ticket, one card, one reply in its thread
    assert outcome.tickets == outcome.distinct_tickets == n, outcome
    assert outcome.cards == outcome.distinct_cards == n, outcome
    assert outcome.thread_replies == [1] * n, outcome
    # each Approve click: one approval, its author told once
    assert outcome.approved == outcome.clicks, outcome
    assert outcome.approvals_each == [1] * outcome.clicks, outcome
    assert outcome.author_dms == outcome.clicks, outcome
    # each acknowledged submission: one post, sent for approval once; none doubled
    assert outcome.drafts_acked, outcome
    assert outcome.posts_of_acked == [1] * outcome.drafts_acked, outcome
    assert outcome.requests_of_acked == [1] * outcome.drafts_acked, outcome
    assert all(count <= 1 for count in outcome.posts_of_unanswered), outcome
    # one digest per channel, one report for the week, nothing left waiting
    assert outcome.digests == {c: 1 for c in replicakit.DIGESTS}, outcome
    assert outcome.reports == 1, outcome
    assert outcome.pending_jobs == 0, outcome
