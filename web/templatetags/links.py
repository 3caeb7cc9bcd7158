"""Links that come from outside the portal (a service's repository, CI runs, dashboards)
become links on a page only when they are http(s) URLs; anything else is shown as text.

    {% if value|is_web_link %}…{% endif %}
    {{ service.repository|outside_link }}    <a> for an http(s) URL, else the text
    {{ item.evidence|with_outside_links }}   the text, each http(s) URL in it a link

A repository may be a path or an ssh address (not something a browser opens), and a
value stored before the catalog refused it may be `javascript:…`; those are shown as
text. The test is on the exact text: browsers drop leading spaces and inner tabs or
newlines before reading the scheme, so any such character means "not a link". Links
open with `rel="noopener noreferrer"`: the page they lead to learns nothing of ours.
"""

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

WEB_LINK = re.compile(r"^https?://[^\s/?#]+\S*\Z", re.IGNORECASE)
# An http(s) URL inside a sentence; the punctuation that ends a sentence is not part of it.
URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"'()]+", re.IGNORECASE)
TRAILING = ".,;:!?"


@register.filter
def is_web_link(value) -> bool:
    return bool(value) and bool(WEB_LINK.match(str(value)))


@register.filter
def outside_link(value) -> SafeString:
    """An <a> to the value when it is an http(s) URL, else the value as plain text."""
    text = "" if value is None else str(value)
    if not is_web_link(text):
        return conditional_escape(text)
    return _anchor(text)


@register.filter
def with_outside_links(value) -> SafeString:
    """The text, escaped, with each http(s) URL in it made a link."""
    text = "" if value is None else str(value)
    parts, last = [], 0
    for found in URL_IN_TEXT.finditer(text):
        url = found.group(0).rstrip(TRAILING)
        if not is_web_link(url):
            continue
        parts += [conditional_escape(text[last : found.start()]), _anchor(url)]
        last = found.start() + len(url)
    parts.append(conditional_escape(text[last:]))
    return mark_safe("".join(parts))  # every part above is escaped or built by format_html


def _anchor(url: str) -> SafeString:
    return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)
