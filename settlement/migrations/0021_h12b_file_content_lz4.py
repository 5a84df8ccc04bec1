"""Settlement files' bytes compressed with lz4 rather than pglz on PostgreSQL: storing a
55 MB file is then a fraction of the time (issue 12's benchmark). Elsewhere nothing."""

from django.db import migrations


def _lz4(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
                       " AND 'lz4' = ANY(enumvals)")
        if cursor.fetchone():
            cursor.execute("ALTER TABLE settlement_settlementfile ALTER COLUMN content SET COMPRESSION lz4")


class Migration(migrations.Migration):
    dependencies = [("settlement", "0020_h12_drop_result_breaks_index")]

    operations = [migrations.RunPython(_lz4, migrations.RunPython.noop, elidable=True)]
