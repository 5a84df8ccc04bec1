"""Merchant-facing REST endpoints: the dashboard's data, read through the same
merchants.selectors scoping. The merchant is `?merchant=<id>` (one of the user's; any
other id is a 404), else the session's current one, else the user's first."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels.api.serializers import ErrorEnvelopeSerializer
from config.api_errors import ApiError
from merchants import roles, selectors
from merchants.api import serializers as s
from merchants.presentation import arrival_words
from settlement.services.inquiries import InquiryError, inquiry_open

# What every answer of this API can be besides its success (the schema says so).
MERCHANT = OpenApiParameter("merchant", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                            description="One of your merchants' ids; default: the one you last chose.")
PAGE = [OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                         description="Items per page (default 50)."),
        OpenApiParameter("offset", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False)]
_403 = OpenApiResponse(ErrorEnvelopeSerializer, description="`not_authenticated`, or `no_merchant` (this login "
                                                            "is not linked to any merchant).")
_404 = OpenApiResponse(ErrorEnvelopeSerializer, description="`not_found`: not one of your merchants, or no such "
                                                            "item of this merchant.")
_400 = OpenApiResponse(ErrorEnvelopeSerializer, description="`invalid`, with `error.fields`, or a stable code.")
_429 = OpenApiResponse(ErrorEnvelopeSerializer, description="`throttled`: too many requests; see Retry-After.")


def answers(ok, *, bad_request: bool = False) -> dict:
    out = ok if isinstance(ok, dict) else {200: ok}
    return {**out, 403: _403, 404: _404, 429: _429, **({400: _400} if bad_request else {})}


def page_of(item: type[serializers.Serializer]):
    """The LimitOffsetPagination envelope around a list of `item`."""
    return inline_serializer(name=f"Paginated{item.__name__}List", fields={
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
    })


def merchant_of(request: Request, requested=None):
    requested = requested if requested is not None else request.query_params.get("merchant")
    session = getattr(request, "session", None)
    fallback = session.get(selectors.SESSION_KEY) if session is not None else None
    try:
        merchant = selectors.merchant_for(user=request.user, merchant_id=requested, fallback_id=fallback)
    except Http404:
        raise ApiError("not_found", "No such merchant.", status.HTTP_404_NOT_FOUND) from None
    if merchant is None:
        raise ApiError("no_merchant", "This login is not linked to any merchant.", status.HTTP_403_FORBIDDEN)
    view_name = request.resolver_match.view_name if request.resolver_match else ""
    if not roles.may_open(merchant, view_name):
        raise ApiError("role_forbidden", "A cashier login cannot see this.", status.HTTP_403_FORBIDDEN)
    return merchant


def _paginate(view: APIView, request: Request, queryset, serializer):
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def _get_or_404(getter, merchant, pk):
    try:
        return getter(merchant, pk)
    except Http404:
        raise ApiError("not_found", "Not found.", status.HTTP_404_NOT_FOUND) from None


class MerchantListView(APIView):
    @extend_schema(responses={200: s.MerchantOut(many=True), 403: _403, 429: _429})
    def get(self, request):
        merchants = list(selectors.merchants_of(request.user))
        rows = s.MerchantOut(merchants, many=True).data
        for row, merchant in zip(rows, merchants, strict=True):
            if not roles.is_owner(merchant):
                row["account_last4"] = None  # a cashier sees no settlement account digits
        return Response(rows)


class TodayView(APIView):
    @extend_schema(parameters=[MERCHANT], responses=answers(s.TodayOut))
    def get(self, request):
        merchant = merchant_of(request)
        data = s.TodayOut(selectors.home_numbers(merchant)).data
        if not roles.is_owner(merchant):
            for day in data["coming"]["days"]:
                day["credits"] = []  # bank credits are the owner's
        return Response(data)


class TransactionListView(APIView):
    @extend_schema(parameters=[s.TransactionFilterIn], operation_id="v1_merchant_transactions_list",
                   responses=answers(page_of(s.TransactionOut), bad_request=True))
    def get(self, request):
        params = s.TransactionFilterIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        merchant = merchant_of(request, data.get("merchant"))
        query = selectors.SwipeQuery.from_cleaned(data)
        return _paginate(self, request, selectors.swipes_find(merchant, query), s.TransactionOut)


class TransactionDetailView(APIView):
    @extend_schema(parameters=[MERCHANT], responses=answers(s.TransactionDetailOut))
    def get(self, request, pk: int):
        merchant = merchant_of(request)
        txn = _get_or_404(selectors.transaction_of, merchant, pk)
        txn.timeline = list(selectors.timeline_of(txn))
        txn.arrival_text = arrival_words(txn, merchant)
        txn.case_reference = selectors.cases_of(merchant).filter(transaction=txn).exclude(
            status="resolved").values_list("reference", flat=True).first()
        return Response(s.TransactionDetailOut(txn).data)


class PayoutListView(APIView):
    @extend_schema(parameters=[MERCHANT, *PAGE], operation_id="v1_merchant_payouts_list",
                   responses=answers(page_of(s.PayoutOut)))
    def get(self, request):
        return _paginate(self, request, selectors.payouts_of(merchant_of(request)), s.PayoutOut)


class PayoutDetailView(APIView):
    @extend_schema(parameters=[MERCHANT], responses=answers(s.PayoutDetailOut))
    def get(self, request, pk: int):
        merchant = merchant_of(request)
        payout = _get_or_404(selectors.payout_of, merchant, pk)
        payout.swipes = list(selectors.payout_swipes(payout))
        return Response(s.PayoutDetailOut(payout).data)


class CaseListView(APIView):
    @extend_schema(parameters=[MERCHANT, *PAGE], operation_id="v1_merchant_cases_list",
                   responses=answers(page_of(s.CaseOut)))
    def get(self, request):
        return _paginate(self, request, selectors.cases_of(merchant_of(request)), s.CaseOut)


class CaseDetailView(APIView):
    @extend_schema(parameters=[MERCHANT], responses=answers(s.CaseDetailOut))
    def get(self, request, pk: int):
        case = _get_or_404(selectors.case_of, merchant_of(request), pk)
        case.merchant_entries = list(selectors.case_entries_for_merchant(case))
        return Response(s.CaseDetailOut(case).data)


class InquiryCreateView(APIView):
    @extend_schema(request=s.InquiryIn, responses=answers(
        {201: s.InquiryOut, 200: OpenApiResponse(s.InquiryOut, description="Joined the case already open.")},
        bad_request=True))
    def post(self, request):
        # The merchant (and the role's right to ask) first: a cashier gets a 403 whatever the body.
        requested = request.data.get("merchant") if hasattr(request.data, "get") else None
        merchant = merchant_of(request, requested)
        body = s.InquiryIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        txn = payout = None
        if "transaction" in data:
            txn = _get_or_404(selectors.transaction_of, merchant, data["transaction"])
        else:
            payout = _get_or_404(selectors.payout_of, merchant, data["payout"])
        try:
            result = inquiry_open(user=request.user, merchant=merchant, transaction=txn, payout=payout,
                                  message=data["message"])
        except InquiryError as exc:
            raise ApiError(exc.code, exc.message) from None
        out = s.InquiryOut({"case": result.case, "joined": result.joined}).data
        return Response(out, status=status.HTTP_200_OK if result.joined else status.HTTP_201_CREATED)


class NotificationListView(APIView):
    @extend_schema(parameters=[MERCHANT, *PAGE], operation_id="v1_merchant_notifications_list",
                   responses=answers(page_of(s.NotificationOut)))
    def get(self, request):
        return _paginate(self, request, selectors.notifications_of(merchant_of(request)), s.NotificationOut)
