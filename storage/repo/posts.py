"""Posts: adding, compare-and-set transitions, lists, the form submissions that made them,
and the posts the scheduled jobs look for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    exists,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import (
    ApprovalRequest,
    Brand,
    FormSubmission,
    Post,
)
from storage.repo.brands import _BRAND, _BRAND_FIELDS
from storage.repo.workspaces import installed

# --- posts -------------------------------------------------------------------------------


def add_post(session: Session | Connection, post: Post) -> Post:
    """Insert a new post (one prebuilt statement); ``post`` gets its id."""
    values = {name: getattr(post, name) for name in _POST_FIELDS if name != "id"}
    post.id = session.execute(_ADD_POST, values).scalar_one()
    return post


def record_form(
    session: Session | Connection,
    team_id: str,
    view_id: str,
    post_id: int,
    version: int,
    now: datetime,
) -> None:
    """Note that the form ``view_id`` saved ``post_id`` at ``version`` (same transaction as
    the save: a second submission of that form finds it)."""
    session.execute(
        sa_insert(FormSubmission).values(
            team_id=team_id, view_id=view_id, post_id=post_id, version=version, created_at=now
        )
    )


def form_saved(session: Session | Connection, team_id: str, view_id: str) -> tuple[int, int] | None:
    """(post id, version) the form ``view_id`` saved, if it saved one."""
    row = session.execute(
        sa_select(FormSubmission.post_id, FormSubmission.version).where(
            FormSubmission.team_id == team_id, FormSubmission.view_id == view_id
        )
    ).first()
    return (row[0], row[1]) if row else None


def forget_forms_before(session: Session | Connection, cutoff: datetime) -> int:
    """Drop form records older than any modal Slack keeps open."""
    return session.execute(
        delete(FormSubmission).where(FormSubmission.created_at < cutoff)
    ).rowcount


def get_post(session: Session, team_id: str, post_id: int) -> Post | None:
    post = session.get(Post, post_id)
    return post if post is not None and post.team_id == team_id else None


def transition(
    session: Session | Connection,
    post_id: int,
    *,
    expect_status: str | Sequence[str],
    expect_version: int,
    expect_stage: str | None | object = ...,
    changes: dict[str, Any],
    where: Sequence[Any] = (),
) -> Any:
    """Compare-and-set: apply ``changes`` only if the post is still in ``expect_status`` (one
    or several), at ``expect_version`` (and ``expect_stage`` when given), in one UPDATE.
    Returns the post's row as it is now (``as_post`` makes it a Post), or None: someone
    else acted first. A Core statement: it does not refresh Posts already loaded in a
    session."""
    statuses = [expect_status] if isinstance(expect_status, str) else list(expect_status)
    stage = "any" if expect_stage is ... else "none" if expect_stage is None else "is"
    statement = _transition_statement(len(statuses), stage, tuple(changes))
    if where:
        statement = statement.where(*where)
    values = {f"set_{name}": value for name, value in changes.items()}
    values.update({f"cas_status_{i}": status for i, status in enumerate(statuses)})
    values.update(cas_id=post_id, cas_version=expect_version, cas_stage=expect_stage)
    if stage != "is":
        del values["cas_stage"]
    return session.execute(statement, values).first()


_POST = Post.__table__  # type: ignore[attr-defined]
_POST_FIELDS = tuple(_POST.c.keys())


@lru_cache(maxsize=64)
def _transition_statement(statuses: int, stage: str, changes: tuple[str, ...]) -> Any:
    """The compare-and-set UPDATE for one shape of change, built once (bound parameters)."""
    condition = [
        _POST.c.id == bindparam("cas_id"),
        _POST.c.status.in_([bindparam(f"cas_status_{i}") for i in range(statuses)]),
        _POST.c.version == bindparam("cas_version"),
    ]
    if stage == "is":
        condition.append(_POST.c.stage == bindparam("cas_stage"))
    elif stage == "none":
        condition.append(_POST.c.stage.is_(None))
    values = {name: bindparam(f"set_{name}") for name in changes}
    return update(_POST).where(*condition).values(values).returning(*_POST.c)


_ADD_POST = (
    _POST.insert()
    .values({name: bindparam(name) for name in _POST_FIELDS if name != "id"})
    .returning(_POST.c.id)
)


def as_post(row: Any) -> Post:
    """A Post (detached, to read) from a row of the post's columns."""
    mapping = row._mapping
    return Post(**{name: mapping[name] for name in _POST_FIELDS})


def list_posts(
    session: Session,
    team_id: str,
    *,
    author: str | None = None,
    statuses: Sequence[str] | None = None,
    scheduled_after: datetime | None = None,
    scheduled_before: datetime | None = None,
    brands: Iterable[str] | None = None,
    limit: int = 50,
) -> list[Post]:
    query = select(Post).where(Post.team_id == team_id)
    if brands is not None:
        query = query.join(Brand, Post.brand_id == Brand.id).where(  # type: ignore[arg-type]
            Brand.name.in_(sorted(brands))  # type: ignore[attr-defined]
        )
    if author is not None:
        query = query.where(Post.author == author)
    if statuses is not None:
        query = query.where(Post.status.in_(statuses))  # type: ignore[attr-defined]
    if scheduled_after is not None:
        query = query.where(Post.scheduled_at >= scheduled_after)  # type: ignore[operator]
    if scheduled_before is not None:
        query = query.where(Post.scheduled_at < scheduled_before)  # type: ignore[operator]
    order = (Post.scheduled_at, Post.id) if scheduled_after is not None else (Post.id.desc(),)  # type: ignore[union-attr]
    return list(session.exec(query.order_by(*order).limit(limit)))


def _one_post(post_id: int | None) -> list[Any]:
    return [] if post_id is None else [Post.id == post_id]


def posts_to_expire(
    session: Session, now: datetime, statuses: Sequence[str], post_id: int | None = None
) -> list[Post]:
    """Posts (every installed workspace, or just ``post_id``) whose scheduled time has come
    while still unapproved."""
    return list(
        session.exec(
            select(Post).where(
                Post.status.in_(statuses),  # type: ignore[attr-defined]
                Post.scheduled_at <= now,  # type: ignore[operator]
                installed(Post.team_id),
                *_one_post(post_id),
            )
        )
    )


def posts_to_remind(
    session: Session, waiting_since: datetime, post_id: int | None = None
) -> list[Post]:
    """Pending posts (every workspace, or just ``post_id``) whose stage waits since before
    the cutoff and has not had its reminder."""
    return list(
        session.exec(
            select(Post).where(
                Post.status == "pending",
                Post.stage_at <= waiting_since,  # type: ignore[operator]
                Post.reminded_at.is_(None),  # type: ignore[union-attr]
                installed(Post.team_id),
                *_one_post(post_id),
            )
        )
    )


def posts_missing_requests(session: Session, post_id: int | None = None) -> list[Post]:
    """Pending posts (every workspace, or just ``post_id``) whose current stage has no
    request message row."""
    missing = ~exists().where(
        ApprovalRequest.post_id == Post.id,
        ApprovalRequest.version == Post.version,
        ApprovalRequest.stage == Post.stage,
    )
    return list(
        session.exec(
            select(Post).where(
                Post.status == "pending", missing, installed(Post.team_id), *_one_post(post_id)
            )
        )
    )


def release_request(session: Session, post_id: int, version: int, stage: str) -> None:
    """Forget a request that could not be posted, so it is tried again."""
    session.exec(
        delete(ApprovalRequest).where(  # type: ignore[call-overload]
            ApprovalRequest.post_id == post_id,
            ApprovalRequest.version == version,
            ApprovalRequest.stage == stage,
            ApprovalRequest.ts == "",
        )
    )


_POST_WITH_BRAND = (
    sa_select(*_POST.c, *(column.label(f"brand__{column.key}") for column in _BRAND.c))
    .join(_BRAND, _POST.c.brand_id == _BRAND.c.id)
    .where(_POST.c.id == bindparam("post_id"), _POST.c.team_id == bindparam("team_id"))
)
_POST_WITH_BRAND_LOCKED = _POST_WITH_BRAND.with_for_update(of=_POST)


def post_with_brand(
    connection: Session | Connection, team_id: str, post_id: int, lock: bool = False
) -> tuple[Post, Brand] | None:
    """A post of this workspace and its brand in one statement, as detached models (to
    read). ``lock``: the post's row stays locked until the transaction ends (PostgreSQL;
    SQLite's write transactions are already exclusive)."""
    statement = _POST_WITH_BRAND_LOCKED if lock else _POST_WITH_BRAND
    row = connection.execute(statement, {"post_id": post_id, "team_id": team_id}).first()
    if row is None:
        return None
    mapping = row._mapping
    brand = Brand(**{name: mapping[f"brand__{name}"] for name in _BRAND_FIELDS})
    return as_post(row), brand
