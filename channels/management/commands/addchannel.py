from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from channels.models import Channel, validate_poll_url
from channels.services import channel_create


class Command(BaseCommand):
    help = "Create an acquirer channel on the China calendar and print its signing secret."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--name", required=True)
        parser.add_argument("--secret", help="whsec_... (one is generated when omitted)")
        parser.add_argument("--poll-url", default="")

    def handle(self, *args, code: str, name: str, secret: str | None, poll_url: str, **options):
        if secret is not None and not secret.startswith("whsec_"):
            raise CommandError("--secret must start with whsec_ (Standard Webhooks format)")
        try:
            validate_poll_url(poll_url)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        if Channel.objects.filter(code=code).exists():
            raise CommandError(f"channel {code!r} already exists")
        channel, created_secret = channel_create(code=code, name=name, secret=secret, poll_url=poll_url)
        self.stdout.write(f"created channel {channel.code}")
        if secret is None:
            self.stdout.write(f"signing secret: {created_secret}")
        # The acquirer verifies our status queries with it.
        self.stdout.write(f"poll secret: {channel.poll_secret}")
