"""Calendar days' audit rows: written by their one door (channels/calendar_edit.py) in
one bulk insert per change set, with the request's actor and address (config/audit.py
middleware or `config.audit.acting_as`), not by a signal per row."""

from auditlog.cid import get_cid
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from channels.models import BusinessCalendar, CalendarDay
from config.audit import ACTING


def audit_days(*, calendar: BusinessCalendar, rows: list[tuple[CalendarDay, int, dict]], source: str) -> None:
    if not rows:
        return
    context, now = ACTING.get() or {}, timezone.now()
    actor = context.get("actor")
    content_type = ContentType.objects.get_for_model(CalendarDay)
    LogEntry.objects.bulk_create([
        LogEntry(
            content_type=content_type, object_pk=str(row.pk), object_id=row.pk, object_repr=f"{calendar.code} {row.date}",
            action=action, changes=changes, changes_text="", actor=actor,
            actor_email=getattr(actor, "email", None) or None, remote_addr=context.get("remote_addr"),
            cid=get_cid(), timestamp=now,
            additional_data={"calendar": calendar.code, "date": row.date.isoformat(), "source": source[:100]},
        )
        for row, action, changes in rows
    ], batch_size=500)
