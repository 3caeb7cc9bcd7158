"""Slack's markup as HTML, as Slack shows it: mrkdwn text and Block Kit messages.

Plain Python, no Django: the demo Slack receiver (`demo.slack`) stands beside
the portal and uses it too. Everything returned is safe HTML: the text is escaped, and only
`<http(s)://…|label>` becomes a link (a `javascript:` or `mailto:` target stays text).
"""

from __future__ import annotations

import html
import re

# `<target>` or `<target|label>`: Slack's links, mentions (<@U123>) and commands (<!here>).
ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
BOLD = re.compile(r"\*([^*\n]+)\*")
MENTION = ("@", "#", "!")
WEB_URL = re.compile(r"https?://\S+\Z", re.IGNORECASE)


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn as safe HTML: `*bold*`, newlines, `<url|label>` links for http(s) URLs."""
    parts, end = [], 0
    for match in ANGLE.finditer(text):
        parts.append(_inline(text[end : match.start()]))
        parts.append(_angle(match.group(1), match.group(2)))
        end = match.end()
    parts.append(_inline(text[end:]))
    return "".join(parts)


def message_html(body: dict) -> str:
    """A webhook message as Slack shows it: its blocks when it has them, else its text."""
    blocks = body.get("blocks") or []
    if not blocks:
        return f"<p>{mrkdwn_to_html(str(body.get('text') or ''))}</p>"
    return "".join(_block_html(block) for block in blocks if isinstance(block, dict))


def _inline(text: str) -> str:
    escaped = html.escape(_slack_unescape(text), quote=True)
    return BOLD.sub(r"<strong>\1</strong>", escaped).replace("\n", "<br>")


def _angle(target: str, label: str | None) -> str:
    target = _slack_unescape(target)
    if label is None and not WEB_URL.match(target) and not target.startswith(MENTION):
        return html.escape(f"<{target}>")  # not Slack markup: the characters as typed
    shown = _inline(label) if label else html.escape(target)
    if WEB_URL.match(target):
        return f'<a href="{html.escape(target, quote=True)}">{shown}</a>'
    return shown


def _slack_unescape(text: str) -> str:
    # Slack's only entities: &amp; &lt; &gt; (its mrkdwn treats &, < and > as control).
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_html(block: dict) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h2 class='slack-header'>{html.escape(_text_of(block.get('text')))}</h2>"
    if kind == "section":
        return _section_html(block)
    if kind == "actions":
        links = [_button_html(element) for element in block.get("elements") or []]
        return f"<p class='slack-actions'>{' '.join(link for link in links if link)}</p>"
    return ""


def _section_html(block: dict) -> str:
    text = _object_html(block.get("text")) if block.get("text") else ""
    fields = "".join(f"<div>{_object_html(field)}</div>" for field in block.get("fields") or [])
    return (f"<p>{text}</p>" if text else "") + (
        f"<div class='slack-fields'>{fields}</div>" if fields else ""
    )


def _button_html(element: dict) -> str:
    url, label = str(element.get("url") or ""), html.escape(_text_of(element.get("text")))
    if not WEB_URL.match(url):
        return label
    return f'<a class="slack-button" href="{html.escape(url, quote=True)}">{label}</a>'


def _object_html(text_object) -> str:
    """A Slack text object: mrkdwn rendered, plain_text escaped."""
    if isinstance(text_object, dict) and text_object.get("type") == "mrkdwn":
        return mrkdwn_to_html(_text_of(text_object))
    return html.escape(_text_of(text_object))


def _text_of(text_object) -> str:
    if isinstance(text_object, dict):
        return str(text_object.get("text") or "")
    return str(text_object or "")
