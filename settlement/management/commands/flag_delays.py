from django.core.management.base import BaseCommand
from django.utils import timezone

from settlement.services.delays import delays_flag, delays_mark_at_risk, delays_preview


class Command(BaseCommand):
    help = "Flag late swipes and open their follow-up cases (what the beat task does every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would be flagged; change nothing.")
        parser.add_argument("--limit", type=int, default=50, help="Rows to list with --dry-run.")

    def handle(self, *args, dry_run: bool = False, limit: int = 50, **options):
        now = timezone.now()
        if dry_run:
            count, rows = delays_preview(now=now, limit=limit)
            self.stdout.write(f"{count} late swipe(s) would be flagged at {now.isoformat()}")
            for txn in rows:
                late_by = now - txn.overdue_at
                self.stdout.write(
                    f"  {txn.channel.code}:{txn.reference}  {txn.merchant.merchant_no}  {txn.amount} "
                    f"{txn.status}  overdue_at={txn.overdue_at.isoformat()}  late by {late_by}"
                )
            if count > len(rows):
                self.stdout.write(f"  ... and {count - len(rows)} more")
            return
        report = delays_flag(now=now)
        at_risk = delays_mark_at_risk(now=now)
        self.stdout.write(
            f"flagged {report.flagged}, opened {report.cases_opened} case(s), "
            f"{report.incidents_opened} incident(s), {report.notifications} notification(s); {at_risk} at risk"
        )
