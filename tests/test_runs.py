"""Recording a scheduled run's outcome: a database hiccup is retried, a mistake is not."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from bot import runs


def db_error(message: str) -> OperationalError:
    return OperationalError("UPDATE digest_run …", {}, sqlite3.OperationalError(message))


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(runs, "FINISH_TRIES", (0, 0, 0))


def test_a_locked_database_is_tried_again_until_the_outcome_is_recorded(caplog):
    answers = [db_error("database is locked"), db_error("database is locked"), True]

    def finish() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.WARNING, logger="bot.runs"):
        runs.record("digest for C1 on 2026-11-26 (sent)", finish)
    assert answers == [] and caplog.text == ""


def test_a_mistake_is_logged_once_not_retried(caplog):
    calls = []

    def finish() -> bool:
        calls.append(1)
        raise db_error("no such column: nope")

    with caplog.at_level(logging.ERROR, logger="bot.runs"):
        runs.record("digest for C1 on 2026-11-26 (sent)", finish)
    assert len(calls) == 1
    assert "digest for C1 on 2026-11-26 (sent): could not record it" in caplog.text


def test_a_claim_taken_over_meanwhile_is_logged():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("bot.runs").addHandler(handler)
    try:
        runs.record("weekly report for C1, 2026-W48 (sent)", lambda: False)
    finally:
        logging.getLogger("bot.runs").removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        "weekly report for C1, 2026-W48 (sent): the claim was taken over meanwhile"
    ]
