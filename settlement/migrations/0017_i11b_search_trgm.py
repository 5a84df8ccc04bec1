"""Trigram indexes for the staff queue's partial searches (case number, merchant no and
name: icontains is UPPER(col) LIKE '%q%'). PostgreSQL only: on SQLite (make run) the
search is the same query, without these indexes."""

from django.db import migrations

INDEXES = (
    ("case_reference_trgm", "settlement_followupcase", "reference"),
    ("merchant_no_trgm", "merchants_merchant", "merchant_no"),
    ("merchant_name_trgm", "merchants_merchant", "name"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("settlement", "0016_i11b_case_due"), ("merchants", "0003_i13merchant_phone_login")]

    operations = [migrations.RunPython(create, drop)]
