"""Parse values as Indonesian spreadsheets write them: decimal commas, dd/mm/yyyy dates, ya/tidak.

Each parser raises ``ValueError`` with a short reason (a ``geo_app.i18n.Message``: both languages, one on a
page); callers attach the field and row.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone

from ..i18n import msg

WIB = timezone(timedelta(hours=7), "WIB")

_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H.%M")
_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+$")


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_text(value: object, max_len: int | None = None) -> str | None:
    if is_blank(value):
        return None
    text = " ".join(str(value).split()) if max_len and max_len <= 200 else str(value).strip()
    if "\x00" in text:  # PostgreSQL text cannot hold it, and no real text has one
        raise ValueError(msg("berisi karakter NUL (\\x00)"))
    if max_len and len(text) > max_len:
        raise ValueError(msg("terlalu panjang (maks. %(max)s karakter)", max=max_len))
    return text


def parse_float(value: object) -> float | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(msg("bukan angka"))
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # decimal comma
        try:
            number = float(text)
        except ValueError:
            raise ValueError(msg("%(value)r bukan angka", value=value)) from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(msg("bukan angka"))
    return number


def parse_int(value: object, minimum: int | None = 0, maximum: int | None = None) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(msg("bukan bilangan bulat"))
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(msg("%(value)s bukan bilangan bulat", value=value))
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip().replace(" ", "")
        if _THOUSANDS.match(text):
            text = text.replace(".", "")
        if re.fullmatch(r"-?\d+([.,]0+)?", text):
            text = re.split(r"[.,]", text)[0]
        try:
            number = int(text)
        except ValueError:
            raise ValueError(msg("%(value)r bukan bilangan bulat", value=value)) from None
    if minimum is not None and number < minimum:
        raise ValueError(msg("minimal %(minimum)s", minimum=minimum))
    if maximum is not None and number > maximum:
        raise ValueError(msg("maksimal %(maximum)s", maximum=maximum))
    return number


def parse_bool(value: object, default: bool = False) -> bool:
    if is_blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "ya", "y", "yes", "benar", "semua", "all", "on"}:
        return True
    if text in {"0", "false", "tidak", "t", "no", "n", "salah", "off"}:
        return False
    raise ValueError(msg("%(value)r bukan ya/tidak", value=value))


def parse_date(value: object) -> date | None:
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError(msg("%(value)r bukan tanggal dd/mm/yyyy", value=text)) from None


def parse_time(value: object) -> time | None:
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.time()
    if isinstance(value, time):
        return value
    text = str(value).strip().upper().replace("WIB", "").strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise ValueError(msg("%(value)r bukan jam HH:MM", value=value))


def parse_datetime(value: object) -> datetime | None:
    """A local WIB datetime (naive). Aware values are converted to WIB; a date alone means 00:00."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        return datetime.combine(value, time())
    else:
        text = str(value).strip().upper().replace("WIB", "").strip()
        dt = None
        for dfmt in _DATE_FORMATS:
            for tfmt in ("",) + tuple(" " + t for t in _TIME_FORMATS):
                try:
                    dt = datetime.strptime(text, dfmt + tfmt)
                    break
                except ValueError:
                    continue
            if dt:
                break
        if dt is None:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    msg("%(value)r bukan tanggal-jam (dd/mm/yyyy HH:MM atau ISO 8601)", value=value)
                ) from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(WIB).replace(tzinfo=None)
    return dt


def parse_list(value: object) -> list[str]:
    if is_blank(value):
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = re.split(r"[;,|\n]", str(value))
    return [i.strip() for i in items if i.strip()]
