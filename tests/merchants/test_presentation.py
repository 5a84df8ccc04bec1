from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from merchants.presentation import arrival_words, holiday_name, money, status_label
from tests.factories import make_transaction, push

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "expected"), [
    ("zh-hans", "预计 10月8日 18:00 前到账：T+1，国庆假期顺延"),
    ("en", "expected by 18:00 on 8 October: T+1, postponed over the National Day holiday"),
])
def test_expected_arrival_in_plain_words_over_national_day(merchant, lang, expected):
    txn = make_transaction(merchant=merchant, captured_at=datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    with translation.override(lang), timezone.override(SHANGHAI):
        assert arrival_words(txn, merchant) == expected


@pytest.mark.django_db
def test_weekend_and_arrived_wording(merchant):
    friday = make_transaction(merchant=merchant, captured_at=datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI))
    with translation.override("zh-hans"), timezone.override(SHANGHAI):
        assert arrival_words(friday, merchant) == "预计 11月23日 18:00 前到账：T+1，周末顺延"
    monday = make_transaction(merchant=merchant, captured_at=datetime(2026, 11, 16, 10, 0, tzinfo=SHANGHAI))
    push(monday, "credited", datetime(2026, 11, 17, 15, 5, tzinfo=SHANGHAI))
    with translation.override("en"), timezone.override(SHANGHAI):
        assert arrival_words(monday, merchant) == "arrived 15:05 on 17 November"


def test_status_names_in_chinese():
    with translation.override("zh-hans"):
        names = [status_label(s) for s in ("captured", "cleared", "settled", "credited", "held", "returned",
                                           "reversed", "refunded")]
    # settled is "sent to your bank" (merchants.glossary): acquirer apps say 已结算 for "paid to you"
    assert names == ["已刷卡", "已清算", "待银行入账", "已到账", "风控冻结", "银行退回", "已撤销", "已退款"]


def test_holiday_names_map_to_chinese_and_swaps_are_not_named():
    with translation.override("zh-hans"):
        assert holiday_name("National Day (observed)") == "国庆"
        assert holiday_name("Chinese New Year (Spring Festival)") == "春节"
        assert holiday_name("Day off (substituted from 09/20/2026)") == ""
    with translation.override("en"):
        assert holiday_name("Chinese New Year's Eve") == "Spring Festival"


def test_money_format():
    assert money(Decimal("1280")) == "¥1,280.00"
    assert money(Decimal("0.5")) == "¥0.50"
    assert money(Decimal("-12.345")) == "-¥12.35"


@given(st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2))
def test_money_round_trips(value):
    assert Decimal(money(value).replace("¥", "").replace(",", "")) == value
