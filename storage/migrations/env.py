"""Alembic's environment: run by ``storage.migrations`` on a connection it opened and locked
(``config.attributes["connection"]``), or by ``python -m storage.migrations revision`` on a
scratch database to write a new revision."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from storage import models  # noqa: F401  (registers the tables)
from storage.models import UTCDateTime


def render_item(type_: str, obj: object, autogen_context) -> str | bool:
    """Revisions hold plain SQLAlchemy types, so that a revision keeps meaning what it meant
    when the models change: our UTC type is a zone-aware DateTime, sqlmodel's AutoString a
    String."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def fill_server_defaults(context, revision, directives) -> None:
    """A NOT NULL column added to a table that has rows needs a value for them: the model's
    scalar default (``""``, ``0``, ``False``) becomes the column's server default in the new
    revision. A NOT NULL column without one is left for the author to decide (the upgrade
    of a table with rows fails until they do)."""
    from alembic.operations import ops

    def walk(operations):
        for operation in operations:
            if isinstance(operation, ops.ModifyTableOps):
                yield from walk(operation.ops)
            elif isinstance(operation, ops.AddColumnOp):
                yield operation

    for script in directives:
        for operation in walk(script.upgrade_ops.ops):
            column = operation.column
            if column.nullable or column.server_default is not None:
                continue
            model = SQLModel.metadata.tables[operation.table_name].columns[column.name]
            default = model.default.arg if model.default is not None else None
            if isinstance(default, bool):
                value = sa.text("true" if default else "false")  # both databases read these
            elif isinstance(default, int | float):
                value = sa.text(repr(default))
            elif isinstance(default, str):
                value = default
            else:
                continue
            column.server_default = sa.schema.DefaultClause(value)


def configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite alters a table by copying it: batch mode does that
        render_item=render_item,
        compare_type=True,
        user_module_prefix="sa.",
        process_revision_directives=fill_server_defaults,
    )


connection = context.config.attributes.get("connection")
if connection is None:  # Alembic's own command line: it has no database to give us
    raise RuntimeError(
        "run them through storage.migrations: `postroom migrate`, or `python -m "
        'storage.migrations revision "what changed"` to write one'
    )
configure(connection)
with context.begin_transaction():  # the caller's transaction (and lock): nothing committed here
    context.run_migrations()
