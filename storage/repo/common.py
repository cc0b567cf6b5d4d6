"""Statements every aggregate uses: insert-if-absent and upsert, per dialect."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
)
from sqlmodel import Session, SQLModel


def _dialect_insert(dialect: str) -> Any:
    """The dialect's INSERT, the one with ON CONFLICT (its module imported on first use:
    PostgreSQL's, ~1.6 MB resident, is never loaded on SQLite)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_ignore(
    session: Session | Connection, model: type[SQLModel], values: dict[str, Any]
) -> bool:
    """Insert a row unless it collides with a unique key; True when this call inserted it.

    Works on an ORM session or a bare connection (the cheaper choice on hot paths)."""
    statement = _insert_ignore_statement(_dialect(session), model, tuple(values))
    return session.execute(statement, values).first() is not None


@lru_cache(maxsize=64)
def _insert_ignore_statement(dialect: str, model: type[SQLModel], columns: tuple[str, ...]) -> Any:
    """Built once per table and set of columns (bound parameters, not values): the statement
    and its compiled form are reused, instead of built and cached again on every call."""
    insert = _dialect_insert(dialect)
    # RETURNING, not rowcount: psycopg reports -1 for a single-row INSERT … ON CONFLICT.
    table = model.__table__  # type: ignore[attr-defined]
    key = list(table.primary_key.columns)[0]
    values = {name: bindparam(name) for name in columns}
    return insert(table).values(values).on_conflict_do_nothing().returning(key)


def _dialect(session: Session | Connection) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


def upsert(
    session: Session,
    model: type[SQLModel],
    values: dict[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert a row, or update ``update`` columns of the row that has the same ``keys``."""
    insert = _dialect_insert(_dialect(session))
    statement = insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
    )
    session.exec(statement)  # type: ignore[call-overload]
