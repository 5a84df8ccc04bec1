from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "merchants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete

        from merchants.models import Membership
        from merchants.tokens import membership_removed

        post_delete.connect(membership_removed, sender=Membership, dispatch_uid="membership-removed-access-end")
