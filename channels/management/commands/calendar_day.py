from datetime import date

from django.core.management.base import BaseCommand, CommandError

from channels.calendar_edit import KINDS, CalendarEditError, calendar_day_set
from channels.models import Channel


class Command(BaseCommand):
    help = ("Set one day of a channel's business calendar: holiday, make-up workday (调休) or ordinary. "
            "The calendar may be shared by other channels; their in-flight deadlines are recomputed too.")

    def add_arguments(self, parser):
        parser.add_argument("channel_code")
        parser.add_argument("day", help="YYYY-MM-DD")
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--name", default="", help="e.g. 元旦")
        parser.add_argument("--no-recompute", action="store_true",
                            help="only record the recompute; the beat task works it")

    def handle(self, *args, channel_code: str, day: str, kind: str, name: str, no_recompute: bool, **options):
        channel = Channel.objects.select_related("calendar").filter(code=channel_code).first()
        if channel is None:
            raise CommandError(f"unknown channel {channel_code!r}")
        try:
            when = date.fromisoformat(day)
        except ValueError:
            raise CommandError(f"not a date (YYYY-MM-DD): {day!r}") from None
        try:
            change = calendar_day_set(calendar=channel.calendar, day=when, kind=kind, name=name, source="command")
        except CalendarEditError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        if not change.changed:
            self.stdout.write(f"{when} is already {kind} on calendar {channel.calendar.code}; nothing to do")
            return
        self.stdout.write(f"{when} set to {kind} on calendar {channel.calendar.code}")
        if change.recompute_id is None:
            self.stdout.write(f"{when.year} is not marked complete: no deadline depends on it yet")
            return
        if no_recompute:
            self.stdout.write(f"recompute {change.recompute_id} recorded")
            return
        from settlement.services.reschedule import recompute_batch

        looked = moved = 0
        while True:
            batch = recompute_batch(request_id=change.recompute_id)
            looked, moved = looked + batch.looked_at, moved + batch.changed
            if not batch.more:
                break
        self.stdout.write(f"recomputed {looked} in-flight swipes, {moved} deadlines moved")
