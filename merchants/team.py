"""An owner's people (services): change a member's role, remove a member.

A shop always keeps at least one owner: the owners' rows are locked while one is
removed or demoted, so two owners removing each other at once leave one of them.
Removing a membership ends the user's sessions and API tokens (the post_delete hook
merchants.tokens.membership_removed, in the same transaction). Role changes and
removals leave django-auditlog rows (Membership is registered).
"""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from merchants.models import Membership, Merchant

logger = logging.getLogger(__name__)


class TeamError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MemberNotFound(LookupError):
    """Not a membership of this merchant: the view answers 404."""


def _locked_member(merchant: Merchant, membership_id) -> tuple[Membership, int]:
    """The member (locked) and the number of owners, with every owner row locked."""
    owners = list(Membership.objects.select_for_update().filter(merchant=merchant, role=Membership.Role.OWNER)
                  .order_by("pk").values_list("pk", flat=True))
    member = (Membership.objects.select_for_update().select_related("user")
              .filter(merchant=merchant, pk=membership_id).first())
    if member is None:
        raise MemberNotFound(membership_id)
    return member, len(owners)


def _last_owner() -> TeamError:
    return TeamError("last_owner", _("This is the shop's last owner: make another member an owner first."))


@transaction.atomic
def membership_role_change(*, merchant: Merchant, membership_id: int, role: str, by) -> Membership:
    member, owners = _locked_member(merchant, membership_id)  # another shop's member: 404, whatever the role
    if role not in Membership.Role.values:
        raise TeamError("role_invalid", _("Choose owner or cashier."))
    if member.role == role:
        return member
    if member.role == Membership.Role.OWNER and owners <= 1:
        raise _last_owner()
    member.role = role
    member.save(update_fields=["role"])
    logger.info("membership %s of merchant %s: role %s, by user %s", member.pk, merchant.pk, role, by.pk)
    return member


@transaction.atomic
def membership_remove(*, merchant: Merchant, membership_id: int, by) -> Membership:
    member, owners = _locked_member(merchant, membership_id)
    if member.role == Membership.Role.OWNER and owners <= 1:
        raise _last_owner()
    member.delete()  # post_delete: the user's sessions and tokens end
    logger.info("membership %s of merchant %s removed by user %s", membership_id, merchant.pk, by.pk)
    return member
