"""bot.people directly: who someone is (Slack's profile, kept an hour, plus Postroom's grants),
their zone and name, and whom Assign… may take — against the stand-in over real HTTP and a
real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.clock import ManualClock
from bot.errors import SlackApiFailure, ValidationFailed
from bot.people import PROFILE_TTL, Directory
from bot.slack import Pacer, SlackGateway
from playground.standin import SlackStandIn
from storage.db import Database
from tests.stack import ADMIN, BOT_TOKEN, ENV_ADMIN, MARIA, PEDRO, SIGNING_SECRET, TEAM, seed

START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path):
    clock = ManualClock(START)
    slack = SlackStandIn(
        signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, team_id=TEAM, clock=clock
    ).start()
    seed(slack)
    db = Database(f"sqlite:///{tmp_path / 'people.db'}")
    db.create_schema()
    gateway = SlackGateway(WebClient(token=BOT_TOKEN, base_url=slack.api_url), Pacer(0))
    directory = Directory(db, gateway, clock, frozenset({ENV_ADMIN}))
    yield slack, clock, directory
    slack.stop()
    db.dispose()


def lookups(slack, user: str) -> int:
    return sum(1 for call in slack.calls_to("users.info") if call.params.get("user") == user)


def test_a_workspace_admin_is_known_as_one_and_asked_for_once_an_hour(world):
    slack, clock, people = world
    assert people.actor(TEAM, ADMIN).workspace_admin
    assert people.actor(TEAM, ADMIN).workspace_admin
    assert lookups(slack, ADMIN) == 1
    clock.advance(PROFILE_TTL + timedelta(seconds=1))
    people.actor(TEAM, ADMIN)
    assert lookups(slack, ADMIN) == 2


def test_the_profile_is_shared_through_the_database(world):
    slack, clock, people = world
    people.actor(TEAM, MARIA)
    other_replica = Directory(people.db, people.slack, clock, frozenset())
    assert other_replica.timezone(TEAM, MARIA) == "Europe/Madrid"
    assert lookups(slack, MARIA) == 1


def test_a_stale_profile_beats_nothing_when_slack_fails(world):
    slack, clock, people = world
    assert people.timezone(TEAM, PEDRO) == "America/New_York"
    clock.advance(PROFILE_TTL * 2)
    slack.fail("users.info", "internal_error")
    assert people.timezone(TEAM, PEDRO) == "America/New_York"


def test_nothing_known_and_slack_failing_is_an_unknown_role_not_an_admin(world):
    slack, _clock, people = world
    slack.fail("users.info", "internal_error")
    actor = people.actor(TEAM, ADMIN)
    assert actor.slack_role_unknown and not actor.workspace_admin
    assert people.timezone(TEAM, "UNOBODY1") == "UTC"


def test_a_configured_admin_is_an_admin_whatever_slack_says(world):
    _slack, _clock, people = world
    actor = people.actor(TEAM, ENV_ADMIN)
    assert actor.configured_admin and not actor.workspace_admin


def test_names_are_real_names_and_unknown_people_are_left_out(world):
    _slack, _clock, people = world
    assert people.names(TEAM, [MARIA, PEDRO, "UNOBODY1"]) == {
        MARIA: "Maria Lopez",
        PEDRO: "Pedro Ruiz",
    }


def test_a_home_visit_is_written_once_an_hour(world):
    _slack, clock, people = world
    people.actor(TEAM, MARIA)
    assert people.note_home_seen(TEAM, "UNOBODY1")  # nobody known: always written
    assert people.note_home_seen(TEAM, MARIA)
    assert not people.note_home_seen(TEAM, MARIA)
    clock.advance(PROFILE_TTL)
    assert people.note_home_seen(TEAM, MARIA)


def test_assign_takes_an_active_person_of_this_workspace(world):
    _slack, _clock, people = world
    assert people.assignable(TEAM, PEDRO) == PEDRO


@pytest.mark.parametrize(
    ("profile", "refusal"),
    [
        ({"deleted": True}, "has been deactivated"),
        ({"is_bot": True}, "is a bot"),
    ],
)
def test_assign_refuses_who_cannot_take_a_ticket(world, profile, refusal):
    slack, _clock, people = world
    slack.add_user("UODD0001", "odd", **profile)
    with pytest.raises(ValidationFailed, match=refusal):
        people.assignable(TEAM, "UODD0001")


def test_assign_refuses_someone_slack_does_not_know(world):
    _slack, _clock, people = world
    with pytest.raises(ValidationFailed, match="pick someone from the list"):
        people.assignable(TEAM, "UNOBODY1")


def test_assign_passes_on_other_slack_failures(world):
    slack, _clock, people = world
    slack.fail("users.info", "internal_error")
    with pytest.raises(SlackApiFailure):
        people.assignable(TEAM, PEDRO)
