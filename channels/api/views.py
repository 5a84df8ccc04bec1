"""The acquirer API views: verify (auth.py), parse, call one service, answer.

Batch endpoints answer 200 with one result per item, in order; a bad item never blocks
the others and a retry of the whole batch is safe.
"""

import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction as db_transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels.api import items as item_rules
from channels.api import schema as _schema  # noqa: F401  (registers the auth scheme)
from channels.api import serializers as s
from channels.api.auth import IsSignedChannel, StandardWebhookAuthentication
from channels.models import Channel
from channels.replay import Claim, replay_claim, replay_record, request_fingerprint
from config import metrics
from config.api_errors import ApiError
from merchants.selectors import merchant_terminal_serials
from merchants.services import MerchantData, MerchantError, merchant_upsert
from settlement.lifecycle import Outcome
from settlement.models import SettlementEvent, Transaction
from settlement.pan import contains_full_pan, json_escapes_may_hide_digits
from settlement.services.events import EventIdRace, events_apply
from settlement.services.ingest import TRANSACTION_VALUES, transactions_ingest
from settlement.services.payouts import PayoutError, PayoutInput, PayoutLineInput, payout_upsert
from settlement.services.reconciliation import SettlementFileError, run_answer, settlement_file_receive
from settlement.services.settlement_files import declared_business_date

CHANNEL_CODE = OpenApiParameter("channel_code", OpenApiTypes.STR, OpenApiParameter.PATH,
                                 description="Your channel's code, e.g. demo-acq.")
_ERRORS = {
    400: OpenApiResponse(s.ErrorEnvelopeSerializer, description="Malformed body (`malformed_json`, `invalid_body`, "
                         "`full_pan_forbidden` outside any item, ...)."),
    401: OpenApiResponse(s.ErrorEnvelopeSerializer, description="Signature refused; nothing stored."),
    409: OpenApiResponse(s.ErrorEnvelopeSerializer,
                         description="`webhook_id_reused`: another request under an accepted webhook-id."),
    413: OpenApiResponse(s.ErrorEnvelopeSerializer, description="`payload_too_large` or `batch_too_large`."),
    415: OpenApiResponse(s.ErrorEnvelopeSerializer, description="`unsupported_media_type`."),
}


log = logging.getLogger(__name__)
_MAX_ATTEMPTS = 3


class _Replayed(Exception):
    def __init__(self, claim: Claim):
        super().__init__("replayed webhook-id")
        self.claim = claim


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


class AcquirerView(APIView):
    """Signed by the channel in the path; no session, so no CSRF."""

    authentication_classes = [StandardWebhookAuthentication]
    permission_classes = [IsSignedChannel]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes: list = []
    _claim: Claim | None = None

    def initial(self, request: Request, *args, **kwargs) -> None:
        """After the signature: a write whose webhook-id was already accepted gets the
        stored answer back (header Idempotent-Replayed: true) and is not applied again."""
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        claim = replay_claim(
            channel=self.channel, webhook_id=request.user.webhook_id, now=timezone.now(),
            fingerprint=request_fingerprint(request.method, request.path, request._request.body),
        )
        if claim.outcome == "replay":
            raise _Replayed(claim)
        if claim.outcome == "reused":
            raise ApiError("webhook_id_reused", "This webhook-id was accepted for another request.",
                           status.HTTP_409_CONFLICT)
        self._claim = claim

    def dispatch(self, request, *args, **kwargs):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().dispatch(request, *args, **kwargs)
        # One transaction from the receipt to the stored answer (channels.replay). The
        # event door runs in it without a savepoint of its own; when a concurrent batch
        # took one of its event ids, the whole request is rolled back and run again.
        for attempt in range(_MAX_ATTEMPTS):
            try:
                with db_transaction.atomic():
                    return super().dispatch(request, *args, **kwargs)
            except EventIdRace:
                self._claim = None
                if attempt == _MAX_ATTEMPTS - 1:
                    raise
                log.info("push raced on an event id; running the request again (attempt %s)", attempt + 2)
        raise AssertionError("unreachable")

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replayed):
            return Response(json.loads(exc.claim.answer), status=exc.claim.status_code,
                            headers={"Idempotent-Replayed": "true"})
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        match = request._request.resolver_match
        error = response.data.get("error") if isinstance(getattr(response, "data", None), dict) else None
        code = error.get("code", "error") if isinstance(error, dict) else "ok"
        metrics.PUSHES.labels(match.url_name if match else "-", str(response.status_code), code).inc()
        if self._claim is not None and isinstance(response, Response):
            response.render()  # once: the stored bytes are the ones sent
            self._release_claim(response.status_code, response.content)
        return response

    def _release_claim(self, status_code: int, answer: bytes) -> None:
        claim, self._claim = self._claim, None
        if claim is not None:
            replay_record(claim=claim, status_code=status_code, answer=answer)

    @property
    def channel(self) -> Channel:
        return self.request.auth

    def body(self, request: Request) -> Any:
        try:
            return request.data
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None

    def pan_suspect(self, request: Request) -> bool:
        """Cheap first look at the raw bytes; items are examined one by one only when it hits,
        or when an escape could hide a digit ("\\uff16" is a full-width 6 once decoded)."""
        raw = request._request._body.decode("utf-8", errors="replace")
        return contains_full_pan(raw) or ("\\u" in raw and json_escapes_may_hide_digits(raw))

    def batch(self, request: Request, key: str) -> tuple[list[Any], bool]:
        data = self.body(request)
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise ApiError("invalid_body", f'The body must be a JSON object {{"{key}": [...]}}.')
        batch = data[key]
        limit = settings.API_MAX_BATCH_ITEMS
        if len(batch) > limit:
            raise ApiError("batch_too_large", f"A batch holds at most {limit} items.",
                           status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        suspect = self.pan_suspect(request)
        if suspect:
            outside = {k: v for k, v in data.items() if k != key}
            if item_rules.has_full_pan(outside) or (
                contains_full_pan(request._request._body.decode("utf-8", errors="replace"))
                and not any(item_rules.has_full_pan(i) for i in batch)
            ):
                raise ApiError("full_pan_forbidden", "A full card number is not accepted anywhere in a request.")
        return batch, suspect

    def refuse_pan(self, request: Request) -> None:
        if self.pan_suspect(request) and item_rules.has_full_pan(self.body(request)):
            raise ApiError("full_pan_forbidden", "A full card number is not accepted anywhere in a request.")


def present_transaction(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """A stored swipe (TRANSACTION_VALUES) as the API shows it, times in the channel's zone."""
    return {
        "reference": row["reference"],
        "merchant_no": row["merchant__merchant_no"],
        "terminal_sn": row["terminal__serial_number"],
        "amount": str(row["amount"]),
        "fee": str(row["fee"]),
        "net": str(row["net"]),
        "currency": row["currency"],
        "masked_pan": row["masked_pan"],
        "method": row["method"],
        "captured_at": row["captured_at"].astimezone(tz).isoformat(),
        "status": row["status"],
        "business_date": row["business_date"].isoformat(),
        "expected_by": row["expected_by"].astimezone(tz).isoformat(),
        "calendar_incomplete": row["calendar_incomplete"],
        "payout_reference": row["payout__reference"],
    }


class MerchantView(AcquirerView):
    @extend_schema(
        operation_id="acquirer_merchant_put", tags=["acquirer"], parameters=[CHANNEL_CODE],
        request=s.MerchantInputSerializer,
        responses={200: s.MerchantOutputSerializer, 201: s.MerchantOutputSerializer, **_ERRORS,
                   409: OpenApiResponse(s.ErrorEnvelopeSerializer,
                                        description="`merchant_other_channel`, `webhook_id_reused`.")},
        summary="Create or update a merchant of this channel",
    )
    def put(self, request: Request, channel_code: str, merchant_no: str) -> Response:
        self.refuse_pan(request)
        if contains_full_pan(merchant_no):
            raise ApiError("full_pan_forbidden", "A full card number is not accepted anywhere in a request.")
        if len(merchant_no) > 32 or "\x00" in merchant_no:
            raise ApiError("invalid_merchant_no", "merchant_no is at most 32 printable characters.")
        payload = s.MerchantInputSerializer(data=self.body(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        terminals = data.pop("terminals", None)
        try:
            merchant, created = merchant_upsert(
                channel=self.channel, merchant_no=merchant_no,
                data=MerchantData(**data, terminals=tuple(terminals) if terminals is not None else None),
            )
        except MerchantError as exc:
            raise ApiError(exc.code, exc.message, status.HTTP_409_CONFLICT) from None
        out = s.MerchantOutputSerializer({
            "merchant_no": merchant.merchant_no, "result": "created" if created else "updated",
            **{name: getattr(merchant, name) for name in (
                "name", "settlement_cycle", "account_bank", "account_holder", "account_last4", "fee_rate_bps",
                "contact_email", "contact_phone", "status")},
            "terminals": merchant_terminal_serials(merchant),
        })
        return Response(out.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TransactionsView(AcquirerView):
    @extend_schema(
        operation_id="acquirer_transactions_push", tags=["acquirer"], parameters=[CHANNEL_CODE],
        request=s.TransactionsInputSerializer, responses={200: s.TransactionsOutputSerializer, **_ERRORS},
        summary="Push swipes (at most 1,000 per request)",
        examples=[OpenApiExample("One swipe", request_only=True, value={"transactions": [{
            "reference": "RRN000123", "merchant_no": "M100001", "terminal_sn": "SN10000101", "amount": "1280.00",
            "currency": "CNY", "masked_pan": "622202******1234", "method": "chip",
            "captured_at": "2026-11-21T14:02:00+08:00"}]})],
    )
    def post(self, request: Request, channel_code: str) -> Response:
        batch, suspect = self.batch(request, "transactions")
        now = timezone.now()
        answers: list[dict[str, Any] | None] = [None] * len(batch)
        valid, positions = [], []
        for i, raw in enumerate(batch):
            try:
                valid.append(item_rules.parse_transaction(raw, now=now, check_pan=suspect))
                positions.append(i)
            except item_rules.ItemError as exc:
                answers[i] = {"reference": item_rules.reference_of(raw, "reference"), "result": "rejected",
                              "transaction": None, "error": _error(exc.code, exc.message)}
        if valid:
            tz = ZoneInfo(self.channel.timezone)
            for i, result in zip(positions, transactions_ingest(channel=self.channel, items=valid, now=now),
                                 strict=True):
                answers[i] = {
                    "reference": result.reference, "result": result.result,
                    "transaction": present_transaction(result.transaction, tz) if result.transaction else None,
                    "error": _error(result.code, result.message) if result.code else None,
                }
        return Response({"results": answers})


class EventsView(AcquirerView):
    @extend_schema(
        operation_id="acquirer_events_push", tags=["acquirer"], parameters=[CHANNEL_CODE],
        request=s.EventsInputSerializer, responses={200: s.EventsOutputSerializer, **_ERRORS},
        summary="Push status events (at most 1,000 per request)",
        examples=[OpenApiExample("Settled", request_only=True, value={"events": [{
            "event_id": "ev-0001", "reference": "RRN000123", "type": "settled",
            "occurred_at": "2026-11-22T16:00:00+08:00", "payout_reference": "PO-20261122-01"}]})],
    )
    def post(self, request: Request, channel_code: str) -> Response:
        batch, suspect = self.batch(request, "events")
        now = timezone.now()
        answers: list[dict[str, Any] | None] = [None] * len(batch)
        valid, positions = [], []
        refused = 0  # by the item rules, before the door: never stored, still counted
        for i, raw in enumerate(batch):
            try:
                valid.append(item_rules.parse_event(raw, now=now, check_pan=suspect))
                positions.append(i)
            except item_rules.ItemError as exc:
                refused += 1
                answers[i] = {"event_id": item_rules.reference_of(raw, "event_id"),
                              "reference": item_rules.reference_of(raw, "reference"), "result": "rejected",
                              "status": None, "error": _error(exc.code, exc.message)}
        if valid:
            results = events_apply(channel=self.channel, events=valid, source=SettlementEvent.Source.PUSH, now=now,
                                   savepoint=False)  # dispatch runs the request again on EventIdRace
            for i, result in zip(positions, results, strict=True):
                answers[i] = {
                    "event_id": result.event_id, "reference": result.reference, "result": result.result,
                    "status": result.transaction.status if result.transaction is not None else None,
                    "error": _error(result.code, result.message) if result.code else None,
                }
        if refused:
            metrics.count_events(channel=self.channel.code, source=SettlementEvent.Source.PUSH,
                                 outcomes={Outcome.REJECTED: refused})
        return Response({"results": answers})


class PayoutsView(AcquirerView):
    @extend_schema(
        operation_id="acquirer_payout_push", tags=["acquirer"], parameters=[CHANNEL_CODE],
        request=s.PayoutInputSerializer,
        responses={200: s.PayoutOutputSerializer, 201: s.PayoutOutputSerializer,
                   422: OpenApiResponse(s.ErrorEnvelopeSerializer,
                                        description="`unknown_merchant`, `payout_merchant_mismatch`, `occurred_in_future`, `invalid_line`."),
                   **_ERRORS},
        summary="Create or update a payout (合并到账) and link the transactions it covers",
    )
    def post(self, request: Request, channel_code: str) -> Response:
        self.refuse_pan(request)
        payload = s.PayoutInputSerializer(data=self.body(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            result = payout_upsert(channel=self.channel, data=PayoutInput(
                reference=data["payout_reference"], merchant_no=data["merchant_no"], amount=data["amount"],
                status=data["status"],
                transaction_references=tuple(data["transaction_references"]) if "transaction_references" in data
                else None,
                sent_at=data["sent_at"], credited_at=data["credited_at"], currency=data["currency"],
                occurred_at=data["occurred_at"],
                lines=tuple(PayoutLineInput(**line) for line in data["lines"]) if "lines" in data else None,
            ))
        except PayoutError as exc:
            raise ApiError(exc.code, exc.message, status.HTTP_422_UNPROCESSABLE_ENTITY) from None
        payout, tz = result.payout, ZoneInfo(self.channel.timezone)
        out = s.PayoutOutputSerializer({
            "payout_reference": payout.reference, "result": "created" if result.created else "updated",
            "merchant_no": data["merchant_no"], "amount": str(payout.amount), "currency": payout.currency,
            "status": payout.status,
            "sent_at": payout.sent_at.astimezone(tz) if payout.sent_at else None,
            "credited_at": payout.credited_at.astimezone(tz) if payout.credited_at else None,
            "transaction_count": result.transaction_count, "net_total": str(result.net_total),
            "lines_total": str(result.explained),
            "discrepancy": str(result.discrepancy), "discrepancy_flagged": bool(result.discrepancy),
            "discrepancy_found_at": found.found_at.astimezone(tz) if (found := result.stored_discrepancy) else None,
            "status_outcome": result.outcome, "rejected": result.rejected,
        })
        return Response(out.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class TransactionDetailView(AcquirerView):
    @extend_schema(
        operation_id="acquirer_transaction_get", tags=["acquirer"], parameters=[CHANNEL_CODE],
        responses={200: s.TransactionDetailOutputSerializer,
                   404: OpenApiResponse(s.ErrorEnvelopeSerializer, description="`unknown_reference`."),
                   401: _ERRORS[401]},
        summary="What we know of one transaction (sign an empty body)",
    )
    def get(self, request: Request, channel_code: str, reference: str) -> Response:
        row = None
        if "\x00" not in reference:
            row = (
                Transaction.objects.filter(channel=self.channel, reference=reference)
                .values(*TRANSACTION_VALUES, "settled_at", "credited_at")
                .first()
            )
        if row is None:
            raise ApiError("unknown_reference", "No transaction with this reference on this channel.",
                           status.HTTP_404_NOT_FOUND)
        tz = ZoneInfo(self.channel.timezone)
        events = SettlementEvent.objects.filter(transaction_id=row["id"]).order_by("occurred_at", "id").values(
            "event_id", "type", "source", "outcome", "from_status", "to_status", "occurred_at", "received_at"
        )
        body = present_transaction(row, tz)
        body["settled_at"] = row["settled_at"].astimezone(tz).isoformat() if row["settled_at"] else None
        body["credited_at"] = row["credited_at"].astimezone(tz).isoformat() if row["credited_at"] else None
        body["events"] = [
            {**e, "occurred_at": e["occurred_at"].astimezone(tz).isoformat(),
             "received_at": e["received_at"].astimezone(tz).isoformat()}
            for e in events
        ]
        return Response(body)


class CSVTextParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        try:
            return stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError("invalid_encoding", "A settlement file must be UTF-8.") from None


BUSINESS_DATE = OpenApiParameter(
    "business_date", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=False,
    description="Deprecated (not signed): put it in the file's business_date column instead. The business date "
                "the file covers (YYYY-MM-DD); default: yesterday in the channel's time zone.")


class SettlementFilesView(AcquirerView):
    parser_classes = [CSVTextParser]

    @extend_schema(
        operation_id="acquirer_settlement_file_reconcile", tags=["acquirer"], parameters=[CHANNEL_CODE, BUSINESS_DATE],
        request={"text/csv": OpenApiTypes.STR}, responses={200: s.SettlementFileOutputSerializer, **_ERRORS},
        summary="Deliver a settlement file (CSV: reference,amount[,fee,net,status,merchant_no,terminal_sn,"
                "captured_at,business_date])",
        description="Stored once (the same bytes again answer `duplicate: true` with the first run; a different "
                    "file for the same date supersedes the earlier one) and reconciled in a stored run against "
                    "our swipes of that channel and business date. Nothing about the swipes is changed. A line "
                    "we cannot read (or one holding a full card number) refuses the whole file, naming the line. "
                    "At most 1,000 lines here; larger files by upload or the daily pull. The business date "
                    "belongs in the file's `business_date` column (one date for every line), which the "
                    "signature covers; `?business_date=` is not signed and is deprecated: when both are "
                    "given they must agree (`business_date_mismatch`). Without either: yesterday in the "
                    "channel's time zone.",
    )
    def post(self, request: Request, channel_code: str) -> Response:
        text = self.body(request)
        if not isinstance(text, str):
            raise ApiError("invalid_body", "Send the file as text/csv.")
        try:
            business_date = self._business_date(request, declared_business_date(request._request.body))
            receipt = settlement_file_receive(
                channel=self.channel, raw=request._request.body, business_date=business_date,
                source="api", max_lines=settings.API_MAX_BATCH_ITEMS,
            )
        except SettlementFileError as exc:
            http = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if exc.code == "batch_too_large" else 400
            raise ApiError(exc.code, exc.message, http) from None
        return Response(run_answer(receipt))

    def _business_date(self, request: Request, declared):
        """The file's own business_date column (signed with the body) wins; the query string
        (not signed: kept for older clients, deprecated) must then agree with it."""
        from datetime import date, timedelta

        value = request.query_params.get("business_date")
        if value is None:
            return declared or timezone.now().astimezone(ZoneInfo(self.channel.timezone)).date() - timedelta(days=1)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ApiError("invalid_business_date", "business_date must be a date (YYYY-MM-DD).") from None
        if declared is not None and declared != day:
            raise ApiError("business_date_mismatch", f"The file's business_date column says {declared}, "
                           f"the query string {day}.")
        return day


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Anything else under the acquirer prefix: a 404 in the API's error shape."""

    authentication_classes: list = []
    permission_classes: list = []
    renderer_classes = [JSONRenderer]

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        response = self.handle_exception(ApiError("not_found", "No such endpoint.", status.HTTP_404_NOT_FOUND))
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response
