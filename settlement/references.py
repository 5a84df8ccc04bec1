"""Case references shown to merchants and staff: `C` + yymm + `-` + the zero-padded id,
e.g. C2611-000123. Shared by the detection service (issue 5) and merchant inquiries."""

import uuid
from datetime import datetime

from django.utils import timezone


def case_reference(pk: int, opened_at: datetime) -> str:
    # The month is the local (TIME_ZONE) month the case was opened: what staff say aloud.
    return f"C{timezone.localtime(opened_at):%y%m}-{pk:06d}"


def provisional_case_reference() -> str:
    """Unique placeholder for the insert; replaced by case_reference() once the id is known."""
    return f"tmp-{uuid.uuid4().hex[:16]}"
