"""Approvals (who approved which network and stage) and the approval request messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import (
    Approval,
    ApprovalRequest,
    AuditEntry,
)
from storage.repo.common import insert_ignore

# --- approvals and their messages --------------------------------------------------------


def add_approval(
    session: Session | Connection,
    *,
    team_id: str,
    post_id: int,
    version: int,
    stage: str,
    approver: str,
    at: datetime,
    networks: str = "",
    override: str = "",
) -> bool:
    """Record one approver's approval of one stage of one version (``networks``: those of
    the post it covers; ``override``: an admin's reason); False if they already had (the
    values go straight to the INSERT: no model object on the click's path)."""
    values = {
        "team_id": team_id,
        "post_id": post_id,
        "version": version,
        "stage": stage,
        "approver": approver,
        "at": at,
        "networks": networks,
        "override": override,
    }
    return insert_ignore(session, Approval, values)


_APPROVERS = (
    sa_select(Approval.approver)
    .where(
        Approval.post_id == bindparam("post_id"),
        Approval.version == bindparam("version"),
        Approval.stage == bindparam("stage"),
    )
    .order_by(Approval.id)
)


def approvers_of(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> list[str]:
    """Who approved this stage of this version, in the order they did."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    return list(connection.execute(_APPROVERS, values).scalars())


_APPROVALS = (
    sa_select(Approval.approver, Approval.networks, Approval.override)
    .where(
        Approval.post_id == bindparam("post_id"),
        Approval.version == bindparam("version"),
        Approval.stage == bindparam("stage"),
    )
    .order_by(Approval.id)
)


def approvals_of(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> list[Any]:
    """This stage's approvals of this version (approver, networks, override), in order."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    return list(connection.execute(_APPROVALS, values))


def add_request(
    session: Session | Connection,
    *,
    team_id: str,
    post_id: int,
    version: int,
    stage: str,
    channel_id: str,
    blocks: str,
    created_at: datetime,
) -> bool:
    """Claim the request message of one stage of one version (not posted yet: no ts);
    False if it was claimed already."""
    values = {
        "team_id": team_id,
        "post_id": post_id,
        "version": version,
        "stage": stage,
        "channel_id": channel_id,
        "ts": "",
        "state": "open",
        "blocks": blocks,
        "created_at": created_at,
    }
    return insert_ignore(session, ApprovalRequest, values)


_REQUEST = ApprovalRequest.__table__  # type: ignore[attr-defined]
_REQUEST_FIELDS = tuple(_REQUEST.c.keys())
_GET_REQUEST = sa_select(*_REQUEST.c).where(
    _REQUEST.c.post_id == bindparam("post_id"),
    _REQUEST.c.version == bindparam("version"),
    _REQUEST.c.stage == bindparam("stage"),
)
_SET_REQUEST = (
    update(_REQUEST)
    .where(_REQUEST.c.id == bindparam("r_id"))
    .values(ts=bindparam("r_ts"), state=bindparam("r_state"))
)
_SET_REQUEST_TS = (
    update(_REQUEST)
    .where(
        _REQUEST.c.post_id == bindparam("r_post_id"),
        _REQUEST.c.version == bindparam("r_version"),
        _REQUEST.c.stage == bindparam("r_stage"),
    )
    .values(ts=bindparam("r_ts"))
)


def get_request(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> ApprovalRequest | None:
    """The request message of one stage of one version (detached, to read)."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    row = connection.execute(_GET_REQUEST, values).first()
    if row is None:
        return None
    mapping = row._mapping
    return ApprovalRequest(**{name: mapping[name] for name in _REQUEST_FIELDS})


def set_request(connection: Session | Connection, request_id: int, ts: str, state: str) -> None:
    """Where a request message is, and its state (open, decided, superseded, closed)."""
    connection.execute(_SET_REQUEST, {"r_id": request_id, "r_ts": ts, "r_state": state})


_SET_REQUEST_BLOCKS = (
    update(_REQUEST).where(_REQUEST.c.id == bindparam("r_id")).values(blocks=bindparam("r_blocks"))
)


def set_request_blocks(connection: Session | Connection, request_id: int, blocks: str) -> None:
    """The blocks of a decided request as Slack shows them now (with its status line), so a
    later update (the live URLs) keeps the decision."""
    connection.execute(_SET_REQUEST_BLOCKS, {"r_id": request_id, "r_blocks": blocks})


def set_request_ts(
    connection: Session | Connection, post_id: int, version: int, stage: str, ts: str
) -> None:
    """The ts of a request message, once Slack has it."""
    values = {"r_post_id": post_id, "r_version": version, "r_stage": stage, "r_ts": ts}
    connection.execute(_SET_REQUEST_TS, values)


def requests_of(session: Session, post_id: int) -> list[ApprovalRequest]:
    return list(
        session.exec(
            select(ApprovalRequest)
            .where(ApprovalRequest.post_id == post_id)
            .order_by(ApprovalRequest.id)
        )
    )


_LAST_POST_CHANGE = (
    sa_select(*AuditEntry.__table__.c)  # type: ignore[attr-defined]
    .where(
        AuditEntry.team_id == bindparam("team_id"),
        AuditEntry.entity == "post",
        AuditEntry.entity_id == bindparam("entity_id"),
        AuditEntry.action.notlike("vote%"),  # type: ignore[attr-defined]
    )
    .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    .limit(1)
)


def last_post_change(session: Session | Connection, team_id: str, post_id: int) -> Any:
    """The latest audit entry that moved the post (votes towards an "all" stage don't), as a
    row with the entry's columns; None when there is none."""
    values = {"team_id": team_id, "entity_id": str(post_id)}
    return session.execute(_LAST_POST_CHANGE, values).first()
