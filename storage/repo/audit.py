"""The audit log: every state change of a post or ticket."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Connection,
    bindparam,
)
from sqlmodel import Session, select

from storage.models import (
    AuditEntry,
)

# --- audit -------------------------------------------------------------------------------


def audit(
    session: Session | Connection,
    team_id: str,
    entity: str,
    entity_id: str,
    actor: str,
    action: str,
    at: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str = "",
) -> None:
    """Record a change (in the caller's transaction, with the change itself). On a Core
    connection (the hot paths) it is one prebuilt INSERT; on a session, an ORM object
    flushed with the session's other changes."""
    values = {
        "team_id": team_id,
        "entity": entity,
        "entity_id": entity_id,
        "actor": actor,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment,
        "at": at,
    }
    if isinstance(session, Connection):
        session.execute(_AUDIT, values)
    else:
        session.add(AuditEntry(**values))


_AUDIT = AuditEntry.__table__.insert().values(  # type: ignore[attr-defined]
    {
        name: bindparam(name)
        for name in (
            "team_id",
            "entity",
            "entity_id",
            "actor",
            "action",
            "from_state",
            "to_state",
            "comment",
            "at",
        )
    }
)


def audit_trail(
    session: Session, team_id: str, entity: str | None = None, entity_id: str | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.exec(query.order_by(AuditEntry.id)))
