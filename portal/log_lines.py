"""Cleaning and bounding log lines: one rule for deployment and build output.

`clean_line` strips escapes, masks secrets and cuts an overlong line; `fit_within_cap`
keeps a log within its byte cap, ending it with a notice.

A line longer than PORTAL_LOG_LINE_MAX_CHARS keeps its head and says how much was cut:
`xxxx … [line cut: 150 more characters]`. Cutting is composable: the Docker adapter cuts
a line it will not hold whole in memory (`cut_long_line(head, dropped=…)`), the log
cuts it again to its limit after masking, and the notice still counts every character
cut, once.
"""

import re

from django.conf import settings

from portal.masking import mask_secrets

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


def clean_line(text: str) -> str:
    """Strip escapes and controls (colour codes go, the coloured text stays), mask secrets
    and cut an overlong line visibly. `mask_secrets` strips before it matches.

    Only twice the line limit is masked (bounded work for a line of any length): a secret
    across the limit is still masked whole, and what follows is cut anyway."""
    limit = settings.PORTAL_LOG_LINE_MAX_CHARS
    head = cut_long_line(str(text).rstrip("\n"), limit=2 * limit)
    return cut_long_line(mask_secrets(head).rstrip("\n"), limit=limit)


def fit_within_cap(lines: list[str], used: int, cap: int, notice: str) -> tuple[list[str], int]:
    """The lines that fit in `cap` bytes after `used`, then `notice` when the cap is reached;
    and the bytes used after them (`cap` once reached). A line costs its UTF-8 bytes + 1;
    a line that would reach the cap is replaced by the notice, so a full log has one."""
    if used >= cap:
        return [], used
    kept: list[str] = []
    size = used
    for line in lines:
        line_size = len(line.encode()) + 1
        if size + line_size >= cap:
            return [*kept, notice], cap
        kept.append(line)
        size += line_size
    return kept, size
