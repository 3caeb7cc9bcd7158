"""Cutting an overlong log line visibly: one rule for deployment and build output.

A line longer than PORTAL_LOG_LINE_MAX_CHARS keeps its head and says how much was cut:
`xxxx … [line cut: 150 more characters]`. Cutting is composable: the Docker adapter cuts
a line it will not hold whole in memory (`cut_long_line(head, dropped=…)`), the log
cuts it again to its limit after masking, and the notice still counts every character
cut, once.
"""

import re

from django.conf import settings

CUT_NOTICE = re.compile(r" … \[line cut: (\d+) more characters\]\Z")


def cut_long_line(text: str, limit: int | None = None, dropped: int = 0) -> str:
    """`text` at most `limit` characters long (PORTAL_LOG_LINE_MAX_CHARS), with a notice.

    `dropped` characters of the line are gone already (they followed `text`). A text that
    ends with a cut notice is a line cut before: its count is carried over.
    """
    limit = settings.PORTAL_LOG_LINE_MAX_CHARS if limit is None else limit
    if earlier := CUT_NOTICE.search(text):
        text, dropped = text[: earlier.start()], dropped + int(earlier[1])
    if len(text) <= limit and not dropped:
        return text
    cut = max(0, len(text) - limit) + dropped
    return f"{text[:limit]} … [line cut: {cut} more characters]"
