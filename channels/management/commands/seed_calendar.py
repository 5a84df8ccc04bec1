from django.core.management.base import BaseCommand

from channels.services import calendar_seed_china


class Command(BaseCommand):
    help = "Create or refresh the mainland-China business calendar from the holidays package."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, action="append", help="only these years (repeatable)")

    def handle(self, *args, year: list[int] | None, **options):
        calendar = calendar_seed_china(years=year)
        years = ", ".join(f"{y.year}{'' if y.complete else ' (incomplete)'}" for y in calendar.years.all())
        self.stdout.write(f"calendar {calendar.code}: {years}")
