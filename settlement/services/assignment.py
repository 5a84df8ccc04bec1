"""Automatic assignment of new cases to agents on duty (STAFF_AUTO_ASSIGN, off by
default): round-robin by load. Each unassigned open case, oldest first, goes to the
on-duty agent holding the fewest open cases (ties by username), never above
STAFF_AUTO_ASSIGN_CAP. Bounded; the cases are locked SKIP LOCKED so concurrent runs and
a supervisor's assignment never fight over a row."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction as db_transaction
from django.db.models import Count, Q
from django.utils import timezone

from settlement.models import CaseEntry, FollowUpCase
from settlement.services.cases import OPEN_STATUSES

ON_DUTY_GROUP = "on_duty"
BATCH = 500


def cases_auto_assign(*, now: datetime | None = None, limit: int = BATCH) -> int:
    if not settings.STAFF_AUTO_ASSIGN:
        return 0
    now = now or timezone.now()
    cap = settings.STAFF_AUTO_ASSIGN_CAP
    with db_transaction.atomic():
        agents = list(
            get_user_model().objects.filter(is_active=True, is_staff=True, groups__name=ON_DUTY_GROUP)
            .annotate(load=Count("assigned_cases", filter=Q(assigned_cases__status__in=OPEN_STATUSES)))
            .order_by("username")
        )
        load = {a.pk: a.load for a in agents}
        room = sum(max(0, cap - n) for n in load.values())
        if not room:
            return 0
        ids = list(
            FollowUpCase.objects.select_for_update(skip_locked=True)
            .filter(assignee__isnull=True, status=FollowUpCase.Status.OPEN)
            .order_by("opened_at", "id").values_list("id", flat=True)[:min(limit, room)]
        )
        plan: dict[int, list[int]] = {}
        for case_id in ids:
            agent = min((a for a in agents if load[a.pk] < cap), key=lambda a: (load[a.pk], a.username))
            load[agent.pk] += 1
            plan.setdefault(agent.pk, []).append(case_id)
        names = {a.pk: a.get_username() for a in agents}
        for agent_id, case_ids in plan.items():
            FollowUpCase.objects.filter(id__in=case_ids, assignee__isnull=True).update(
                assignee_id=agent_id, claimed_at=now, last_action_at=now, status=FollowUpCase.Status.CLAIMED)
            CaseEntry.objects.bulk_create([
                CaseEntry(case_id=i, kind=CaseEntry.Kind.ASSIGNED, created_at=now,
                          data={"to": names[agent_id], "automatic": True}) for i in case_ids
            ])
    return len(ids)
