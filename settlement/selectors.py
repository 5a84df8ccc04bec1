from django.db.models import Count

from settlement.models import Transaction


def status_counts() -> dict[str, int]:
    rows = Transaction.objects.values("status").annotate(n=Count("id")).order_by()
    counts = {row["status"]: row["n"] for row in rows}
    return {status: counts.get(status, 0) for status in Transaction.Status.values}
