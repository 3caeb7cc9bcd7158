"""`{% if value|is_web_link %}`: only an http(s) URL becomes a link on a page.

A repository may be a path or an ssh address (not something a browser opens), and a
value stored before the catalog refused it may be `javascript:…`; those are shown as
text. The test is on the exact text: browsers drop leading spaces and inner tabs or
newlines before reading the scheme, so any such character means "not a link".
"""

import re

from django import template

register = template.Library()

WEB_LINK = re.compile(r"^https?://[^\s/?#]+\S*\Z", re.IGNORECASE)


@register.filter
def is_web_link(value) -> bool:
    return bool(value) and bool(WEB_LINK.match(str(value)))
