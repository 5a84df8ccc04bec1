"""Chinese for h11 (issue 11, the staff workspace): the incident page's bulk actions on
all of an incident's open cases, and its timeline of case actions. Merged by
locale/translations_zh_hans.py."""

ZH = {
    # incident page: bulk actions on every open case
    "Work all its open cases": "批量处理其全部未结工单",
    "All its open cases": "其全部未结工单",
    "Apply to all its open cases": "应用到其全部未结工单",
    # incident timeline
    "Only the latest %(n)s case events are shown.": "仅显示最近 %(n)s 条工单动态。",
}
ZH_PLURAL = {
    "Applies to its %(n)s open case, each getting its own history entry.":
        "将应用到其 %(n)s 个未结工单，每个工单各记一条处理记录。",
}
