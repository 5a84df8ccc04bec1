from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from channels.models import Channel
from settlement.services.polling import channel_poll_resume


class Command(BaseCommand):
    help = "Resume polling the swipes of a channel whose poll answers kept failing to apply (after the fix)."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--dry-run", action="store_true", help="Only say how many swipes would resume.")

    def handle(self, *args, code: str, dry_run: bool, **options):
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            raise CommandError(f"no channel {code!r}")
        n = channel_poll_resume(channel_id=channel.pk, now=timezone.now(), dry_run=dry_run)
        self.stdout.write(f"{n} swipes {'would resume' if dry_run else 'resume'} polling on {channel.code}")
