from merchants.models import Merchant


def merchant_terminal_serials(merchant: Merchant) -> list[str]:
    return list(
        merchant.terminals.filter(active=True).order_by("serial_number").values_list("serial_number", flat=True)
    )
