"""SodaCL ``valid format`` names and the RE2 regexes (DuckDB ``regexp_matches``) behind them.

Numeric formats allow spaces around the sign and the number, as Soda does; ``negative``
formats accept zero. Dates use ``-``, ``.`` or ``/`` as separator.
"""

from __future__ import annotations

_S = " *"
_ZERO = {"": r"(0+([.,]0+)?|[.,]0+)", "point": r"(0+(\.0+)?|\.0+)", "comma": r"(0+(,0+)?|,0+)"}
_NUMBER = {
    "": r"([0-9]+([.,][0-9]+)?|[.,][0-9]+)",
    "point": r"([0-9]+(\.[0-9]+)?|\.[0-9]+)",
    "comma": r"([0-9]+(,[0-9]+)?|,[0-9]+)",
}
_MONTH = "(0?[1-9]|1[0-2])"
_DAY = "(0?[1-9]|[12][0-9]|3[01])"
_YEAR = "([0-9]{4}|[0-9]{2})"
_SEP = "[-./]"
_H24 = "([01]?[0-9]|2[0-3])"
_H12 = "(0?[1-9]|1[0-2])"
_MIN = "[0-5][0-9]"
_SEC = r"[0-5][0-9]([.,][0-9]+)?"
_AMPM = " ?([AaPp][Mm])?"
_HEX4 = "[0-9a-fA-F]{1,4}"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"


def _signed(name: str, number: str, zero: str, suffix: str = "") -> dict[str, str]:
    """``name``, ``positive name`` and ``negative name`` of one number shape."""
    tail = f"{_S}{suffix}{_S}$" if suffix else f"{_S}$"
    return {
        name: f"^{_S}[-+]?{_S}{number}{tail}",
        f"positive {name}": rf"^{_S}\+?{_S}{number}{tail}",
        f"negative {name}": f"^{_S}(-{_S}{number}|{zero}){tail}",
    }


def _build() -> dict[str, str]:
    formats = _signed("integer", "[0-9]+", "0+")
    for variant in ("", "point", "comma"):
        kind = f" {variant}" if variant else ""
        number, zero = _NUMBER[variant], _ZERO[variant]
        formats |= _signed(f"decimal{kind}", number, zero)
        formats |= _signed(f"percentage{kind}", number, zero, "%")
    currency = "[A-Za-z]{3}"
    formats |= {
        "money": f"^{_S}[-+]?{_S}{_NUMBER['']}{_S}{currency}{_S}$",
        "money point": rf"^{_S}[-+]?{_S}[0-9]{{1,3}}(,[0-9]{{3}})*(\.[0-9]+)?{_S}{currency}{_S}$",
        "money comma": rf"^{_S}[-+]?{_S}[0-9]{{1,3}}(\.[0-9]{{3}})*(,[0-9]+)?{_S}{currency}{_S}$",
        "date us": f"^{_S}{_MONTH}{_SEP}{_DAY}{_SEP}{_YEAR}{_S}$",
        "date eu": f"^{_S}{_DAY}{_SEP}{_MONTH}{_SEP}{_YEAR}{_S}$",
        "date inverse": f"^{_S}[0-9]{{4}}{_SEP}{_MONTH}{_SEP}{_DAY}{_S}$",
        "date iso 8601": (
            f"^{_S}[0-9]{{4}}-?((0[1-9]|1[0-2])-?(0[1-9]|[12][0-9]|3[01])"
            "|W[0-5][0-9](-?[1-7])?|[0-3][0-9]{2})"
            rf"([ T]([01][0-9]|2[0-3])(:?{_MIN}(:?{_SEC})?)?"
            rf"(Z|[+-]([01][0-9]|2[0-3])(:?{_MIN})?)?)?"
            f"{_S}$"
        ),
        "time 24h": f"^{_S}{_H24}:{_MIN}(:{_SEC})?{_S}$",
        "time 24h nosec": f"^{_S}{_H24}:{_MIN}{_S}$",
        "time 12h": f"^{_S}{_H12}:{_MIN}(:{_SEC})?{_AMPM}{_S}$",
        "time 12h nosec": f"^{_S}{_H12}:{_MIN}{_AMPM}{_S}$",
        "timestamp 24h": f"^{_S}{_H24}:{_MIN}:{_SEC}{_S}$",
        "timestamp 12h": f"^{_S}{_H12}:{_MIN}:{_SEC}{_AMPM}{_S}$",
        "uuid": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        "ip address": rf"^{_OCTET}(\.{_OCTET}){{3}}$",
        "ipv4 address": rf"^{_OCTET}(\.{_OCTET}){{3}}$",
        "ipv6 address": (
            f"^(({_HEX4}:){{7}}{_HEX4}|(({_HEX4}:){{0,6}}{_HEX4})?::(({_HEX4}:){{0,6}}{_HEX4})?)$"
        ),
        "email": r"^[\p{L}0-9._%+\-]+@[\p{L}0-9\-]+(\.[\p{L}0-9\-]+)*\.\p{L}{2,}$",
        "phone number": (
            r"^(\+[0-9]{1,3}[ .\-]?)?(\(?[0-9]{1,4}\)?[ .\-]?)?[0-9]{3}[ .\-]?[0-9]{4}$"
        ),
        "credit card number": "^([0-9]{13,19}|([0-9]{4}[ -]){3}[0-9]{4}|([0-9]{5} ){3}[0-9]{5})$",
    }
    return formats


FORMATS: dict[str, str] = _build()
"""Format name (as written in ``valid format``, case and spacing normalized) -> regex."""


def format_regex(name: str) -> str | None:
    """The regex of a format name; ``date_us`` and ``Date US`` mean ``date us``."""
    return FORMATS.get(" ".join(name.replace("_", " ").lower().split()))
