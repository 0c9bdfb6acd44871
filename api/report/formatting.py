"""How the report writes text, numbers and scripts: HTML-escaped and ASCII-only, whatever the text."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from decimal import Decimal


def text(value: object) -> str:
    """HTML-escaped, and ASCII-only (anything else as a character reference); also fine in plotly's labels."""
    return html.escape(str(value)).encode("ascii", "xmlcharrefreplace").decode("ascii")


def script_json(value: object, encoder: type[json.JSONEncoder]) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` (they stay, escaped, inside the JSON strings)."""
    written = json.dumps(value, cls=encoder, ensure_ascii=True, separators=(",", ":"))
    return written.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def script_safe(source: str) -> str:
    """plotly.js as ASCII (its few non-ASCII characters, all in regular expressions, as \\u escapes)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code > 0xFFFF:
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"

    return re.sub(r"[^\x00-\x7f]", escape, source).replace("</script", "<\\/script")


def when(moment: datetime) -> str:
    zone = moment.tzname()
    return moment.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")


def units(count: int) -> str:
    return f"{count:,}"


def amount(value: Decimal) -> str:
    """An amount as the page shows it, thousands grouped: `1,075.16` (`pooling.money.text` without the grouping)."""
    return f"{value:,.2f}"


def millis(value: int) -> str:
    return f"{Decimal(value) / 1000:,.1f} s" if value >= 1000 else f"{value:,} ms"


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def short(name: str) -> str:
    return name if len(name) <= 24 else name[:23].rstrip() + "\u2026"
