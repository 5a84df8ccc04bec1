"""Chinese for h12's reconciliation touches: the breaks page's own words where the case
queue's ("Open" = 已受理, "Age (days)" = 工单时长) would mislabel a break."""

ZH = {
    "Days since first seen": "首次发现至今（天）",
    "Open breaks": "未处理",
}

ZH_PLURAL = {}
