"""PostgreSQL: the outbox table NOTIFYs the relay itself, once per inserting statement.

PostgreSQL folds identical notifications of one transaction into one, delivered at commit,
so a request that publishes several events wakes the relay once and sends no NOTIFY of its own.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION events_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('events_outbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER events_outbox_notify AFTER INSERT ON events_outboxevent
    FOR EACH STATEMENT EXECUTE FUNCTION events_outbox_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS events_outbox_notify ON events_outboxevent;
DROP FUNCTION IF EXISTS events_outbox_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("events", "0002_outbox_parked")]

    operations = [migrations.RunPython(create, drop)]
