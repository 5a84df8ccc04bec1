"""Many rows in one statement, one parameter per column: `rows_insert` (INSERT ...
SELECT FROM unnest(...), with an optional ON CONFLICT clause and RETURNING) and
`rows_update` (UPDATE ... FROM unnest(...)).

Each column travels as one PostgreSQL array literal. A multi-row VALUES list hands the
server rows x columns literals to parse and plan one by one: for a 1,500-event batch
that was over half of the INSERT's time (bench/README.md, section h9p). The arrays are
cast to the columns' types without length (varchar, not varchar(64)): an explicit cast
to varchar(n) truncates silently, an assignment to the column refuses a too-long value
as a plain INSERT or UPDATE does. SQLite (the embedded default) takes the ORM's
bulk_create / bulk_update instead, with the same rows.
"""

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from django.db import connection, models

_TYPMOD = re.compile(r"\(.*?\)")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element(value: Any, is_json: bool) -> str:
    """One array element as array_in reads it; quoted, so no text can pass as NULL or
    split the array."""
    if value is None:
        return "NULL"
    if is_json:
        return _quoted(json.dumps(value))
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date | time):
        return _quoted(value.isoformat())
    return _quoted(str(value))  # int, Decimal, UUID


def array_literal(values: Sequence[Any], *, is_json: bool = False) -> str:
    """`values` as the text of a one-dimensional PostgreSQL array ('{"a","b",NULL}')."""
    return "{" + ",".join([_element(v, is_json) for v in values]) + "}"


def _field(model: type[models.Model], name: str) -> models.Field:
    """A field by name or column (`payout` or `payout_id`)."""
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname, field.column):
            return field
    raise LookupError(f"{model.__name__} has no column {name!r}")


@lru_cache(maxsize=128)
def _plan(model: type[models.Model], names: tuple[str, ...], vendor: str) -> tuple[tuple[models.Field, ...], tuple[str, ...]]:
    """The fields and their array casts, once per model, column list and database vendor
    (the casts are the vendor's types): looking them up and asking each field its type
    was a third of a one-event push's bulk_sql time."""
    fields = tuple(_field(model, name) for name in names)
    return fields, tuple(f"%s::{_TYPMOD.sub('', field.db_type(connection))}[]" for field in fields)


def _arrays(fields: Sequence[models.Field], rows: Sequence[Sequence[Any]]) -> list[str]:
    """The unnest arguments' parameters: one array literal per field."""
    return [array_literal([row[i] for row in rows], is_json=isinstance(field, models.JSONField))
            for i, field in enumerate(fields)]


def rows_insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
    on_conflict: str = "", returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERT `rows` (tuples in `columns` order, raw values: ids for foreign keys, dicts
    for JSON) in one statement. `on_conflict`: the SQL of an ON CONFLICT clause
    ("ON CONFLICT DO NOTHING", or a partial unique index's target). `returning`: the
    columns of the inserted rows to hand back, as tuples."""
    if not rows:
        return []
    fields, casts = _plan(model, tuple(columns), connection.vendor)
    if connection.vendor != "postgresql" and not on_conflict and not returning:
        model._default_manager.bulk_create(
            [model(**{f.attname: v for f, v in zip(fields, row, strict=True)}) for row in rows]
        )
        return []
    qn = connection.ops.quote_name
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
    if connection.vendor == "postgresql":
        sql += f"SELECT * FROM unnest({', '.join(casts)})"
        params = _arrays(fields, rows)
    else:  # SQLite with a conflict clause or RETURNING: a VALUES list, each value as its field prepares it
        sql += "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
        params = [f.get_db_prep_save(v, connection) for row in rows for f, v in zip(fields, row, strict=True)]
    sql += (f" {on_conflict}" if on_conflict else "") + (
        f" RETURNING {', '.join(qn(c) for c in returning)}" if returning else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(r) for r in cursor.fetchall()] if returning else []


def rows_update(model: type[models.Model], rows: Sequence[Sequence[Any]], fields: Sequence[str]) -> None:
    """UPDATE the rows `(pk, *values in fields order)` in one statement; each pk once."""
    if not rows:
        return
    pk = model._meta.pk
    every, casts = _plan(model, (pk.name, *fields), connection.vendor)
    targets = every[1:]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(
            [model(pk=row[0], **{f.attname: v for f, v in zip(targets, row[1:], strict=True)}) for row in rows],
            [f.name for f in targets],
        )
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    params = _arrays(every, rows)
    names = [qn(f.column) for f in targets]
    sql = (f"UPDATE {table} SET {', '.join(f'{n} = v.{n}' for n in names)} "
           f"FROM unnest({', '.join(casts)}) AS v({qn(pk.column)}, {', '.join(names)}) "
           f"WHERE {table}.{qn(pk.column)} = v.{qn(pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
