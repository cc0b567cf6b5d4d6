"""A form submitted twice is saved once. When the app dies between saving a draft and
answering Slack, Slack shows "We had some trouble connecting" and keeps the modal open;
the person clicks Submit again — the same view, the same id. That second submission is the
first one's: answered, never a second post or a second version (issue 12's crash drill
for draft submissions, with the person's retry)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.policy import Actor
from playground.sender import interactive_body
from playground.standin import FORM
from storage.models import Job, Post
from tests.forge import REF
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, start_stack, with_approvals
from tests.test_app_posts import fill, modal, open_draft, request_message, submit_draft

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    with_approvals(stack, [PEDRO])
    yield stack
    stack.stop()


def again(stack, delivery):
    """Slack's delivery of the person's second Submit of the same modal: the same view
    (id and values), a new trigger."""
    payload = dict(delivery.payload)
    with stack.slack.workspace.lock:
        payload["trigger_id"] = stack.slack.workspace.issue_trigger(payload["user"]["id"])
    return stack.slack.signed_post(interactive_body(payload), FORM)


def no_ref(stack) -> None:
    """Nothing went wrong from the person's side: no "Something went wrong (ref …)"."""
    stack.services.jobs.stop()  # what was accepted has run
    shown = str(stack.slack.dm_messages(MARIA)) + str(stack.slack.ephemerals(MARIA))
    assert REF not in shown


def posts_of(stack) -> list[Post]:
    with stack.services.db.read() as session:
        return list(session.exec(select(Post)))


def sendings(stack) -> int:
    with stack.services.db.read() as session:
        return len(list(session.exec(select(Job).where(Job.kind == "draft"))))


def test_a_new_draft_submitted_twice_is_one_post_sent_once(stack):
    _view, first = submit_draft(stack)
    request_message(stack)
    second = again(stack, first)
    assert second.status == 200 and second.body in (None, "", {}), second  # the modal closes
    assert [(p.id, p.version) for p in posts_of(stack)] == [(1, 1)]
    assert sendings(stack) == 1
    requests = [m for m in stack.slack.messages(APPROVALS) if "v1 · team" in str(m)]
    assert len(requests) == 1
    no_ref(stack)


def test_a_saved_draft_submitted_twice_is_told_once_more_and_saved_once(stack):
    view = open_draft(stack)
    first = stack.slack.submit(MARIA, view["id"], fill(send="keep"))

    def told() -> int:
        return sum("Saved post #1" in str(m) for m in stack.slack.dm_messages(MARIA))

    stack.slack.wait_for(lambda: told() == 1)
    second = again(stack, first)
    assert second.status == 200
    stack.slack.wait_for(lambda: told() == 2)  # answered again, about the same post
    assert [(p.id, p.version, p.status) for p in posts_of(stack)] == [(1, 1, "draft")]
    no_ref(stack)


def test_an_edit_submitted_twice_is_one_new_version_not_a_stale_refusal(stack):
    submit_draft(stack)
    request_message(stack)
    stack.slack.command(MARIA, "edit 1", channel_id=GENERAL)
    edit = modal(stack, MARIA, title="Edit")
    first = stack.slack.submit(MARIA, edit["id"], fill(text="Big news at our Gran Vía store"))
    request_message(stack, version=2)
    second = again(stack, first)
    assert second.status == 200 and second.body in (None, "", {}), second  # not "changed"
    assert [(p.id, p.version) for p in posts_of(stack)] == [(1, 2)]
    assert sendings(stack) == 2  # version 1 and version 2, each once
    no_ref(stack)
