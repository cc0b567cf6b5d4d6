"""The removed-workspace mark in storage, on both databases: set once, cleared once, and
every scheduler query leaves the workspace out while its rows stay."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage import repo
from storage.models import Brand, DigestSetting, Post


def seed(db, now):
    with db.write() as session:
        for team in ("T1", "T2"):
            repo.ensure_team(session, team, now)
            brand = session.exec(select(Brand).where(Brand.team_id == team)).one()
            session.add(
                Post(
                    team_id=team,
                    brand_id=brand.id,
                    author="U1",
                    text="hello",
                    networks="x",
                    status="pending",
                    stage="team",
                    stage_at=now - timedelta(days=2),
                    scheduled_at=now - timedelta(minutes=1),
                    created_at=now,
                    updated_at=now,
                )
            )
            session.add(
                DigestSetting(
                    team_id=team, channel_id="C1", at_time="09:00", tz="UTC", created_at=now
                )
            )


def teams(rows) -> set[str]:
    return {getattr(r, "team_id", None) or r[0].team_id for r in rows}


def test_a_removed_workspace_is_left_out_of_scheduled_work_and_comes_back(db, clock):
    now = clock.now()
    seed(db, now)
    with db.write() as session:
        assert repo.mark_uninstalled(session, "T2", now) is True
    with db.write() as session:
        assert repo.mark_uninstalled(session, "T2", now + timedelta(hours=1)) is False  # once
    with db.read() as session:
        assert repo.uninstalled_teams(session) == {"T2"}
        assert teams(repo.posts_to_expire(session, now, ("pending",))) == {"T1"}
        assert teams(repo.posts_to_remind(session, now - timedelta(days=1))) == {"T1"}
        assert teams(repo.posts_missing_requests(session)) == {"T1"}
        assert teams(repo.schedules(session, DigestSetting)) == {"T1"}
        assert teams(repo.schedules(session, DigestSetting, "T2")) == {"T2"}  # data kept
        assert len(session.exec(select(Post)).all()) == 2
    with db.write() as session:
        assert repo.mark_reinstalled(session, "T2") is True
    with db.write() as session:
        assert repo.mark_reinstalled(session, "T2") is False
    with db.read() as session:
        assert repo.uninstalled_teams(session) == set()
        assert teams(repo.posts_to_expire(session, now, ("pending",))) == {"T1", "T2"}
