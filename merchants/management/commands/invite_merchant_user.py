from django.core.management.base import BaseCommand, CommandError

from merchants.invitations import InvitationError, invitation_create, invitation_send
from merchants.models import Membership, Merchant


class Command(BaseCommand):
    help = "Invite a user to a merchant: prints the one-time link (and emails it when an address is known)."

    def add_arguments(self, parser):
        parser.add_argument("merchant_no")
        parser.add_argument("--role", choices=Membership.Role.values, default=Membership.Role.OWNER)
        parser.add_argument("--email", default=None, help="default: the merchant's contact_email")
        parser.add_argument("--phone", default="", help="mainland mobile number: becomes the user's phone login")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the app is served")

    def handle(self, *args, merchant_no: str, role: str, email: str | None, phone: str, base_url: str, **options):
        merchant = Merchant.objects.filter(merchant_no=merchant_no).first()
        if merchant is None:
            raise CommandError(f"no merchant {merchant_no}")
        try:
            new = invitation_create(merchant=merchant, role=role, phone=phone,
                                    email=merchant.contact_email if email is None else email)
        except InvitationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        sent = invitation_send(new=new, base_url=base_url)
        if sent:
            self.stdout.write(f"emailed to {new.invitation.email}")
        self.stdout.write(f"one-time link ({role} of {merchant.name}): {base_url.rstrip('/')}{new.path}")
