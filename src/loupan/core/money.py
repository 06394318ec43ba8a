"""Money and area arithmetic: always Decimal, rounded explicitly, ROUND_HALF_UP to the fen.

PRODUCT.md: money is Decimal in yuan with two decimals; no float near money.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def to_decimal(value) -> Decimal:
    """Parse user input (str, int, Decimal) into a Decimal; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def money(value) -> Decimal:
    """Round to the fen, half up (the one rounding helper)."""
    return to_decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


area = money  # areas are square metres with two decimals, rounded the same way


def round_to(value, step) -> Decimal:
    """Round half up to a multiple of ``step`` yuan (1, 10, 100 …); the result has two decimals."""
    step = to_decimal(step)
    if step <= 0:
        return money(value)
    units = (to_decimal(value) / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return money(units * step)


_UPPER_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UPPER_UNITS = ("", "拾", "佰", "仟")
_UPPER_SECTIONS = ("", "万", "亿", "万亿")


def _upper_integer(n: int) -> str:
    """A whole number of yuan in capital numerals: 拾/佰/仟 inside each group of four
    digits, 万/亿 after a group that is not all zeros, one 零 for any run of zeros
    between non-zero digits (壹万零伍, 壹亿零壹万), none at the end."""
    digits = str(n)
    length = len(digits)
    out: list[str] = []
    zero_pending = False
    for i, ch in enumerate(digits):
        pos = length - 1 - i
        d = int(ch)
        if d == 0:
            zero_pending = True
        else:
            if zero_pending and out:
                out.append("零")
            zero_pending = False
            out.append(_UPPER_DIGITS[d] + _UPPER_UNITS[pos % 4])
        if pos % 4 == 0 and pos > 0 and int(digits[max(0, i - 3) : i + 1]) != 0:
            out.append(_UPPER_SECTIONS[pos // 4])
    return "".join(out)


def rmb_upper(amount) -> str:
    """人民币大写 for receipts and agreements, as the People's Bank writes it (《支付结算
    办法》附件《正确填写票据和结算凭证的基本规定》): 10005.00 → 壹万零伍元整, 1234.56 →
    壹仟贰佰叁拾肆元伍角陆分, 1000.05 → 壹仟元零伍分, 0.50 → 伍角整, 0 → 零元整.
    The amount is first rounded half up to the fen (``money``); "整" follows 元 or 角,
    never 分; 拾 always carries its digit (壹拾元整)."""
    value = money(amount)
    if value < 0:
        return "负" + rmb_upper(-value)
    fen_total = int(value * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    if yuan >= 10**16:
        raise ValueError("amount too large for capital numerals")
    parts = []
    if yuan:
        parts.append(_upper_integer(yuan) + "元")
    elif not jiao and not fen:
        return "零元整"
    if jiao:
        parts.append(_UPPER_DIGITS[jiao] + "角")
    if fen:
        if not jiao and yuan:
            parts.append("零")
        parts.append(_UPPER_DIGITS[fen] + "分")
    else:
        parts.append("整")
    return "".join(parts)
