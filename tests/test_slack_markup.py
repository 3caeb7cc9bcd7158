"""Slack mrkdwn and Block Kit messages read as Slack shows them, as safe HTML."""

from deployments.notifications.slack_markup import message_html, mrkdwn_to_html


def test_bold_newlines_and_a_web_link_read_as_slack_shows_them():
    html = mrkdwn_to_html("*Reason*\nprobe failed <http://127.0.0.1:8000/deployments/12/|Open>")

    assert html == (
        "<strong>Reason</strong><br>probe failed "
        '<a href="http://127.0.0.1:8000/deployments/12/">Open</a>'
    )


def test_only_http_and_https_targets_become_links():
    html = mrkdwn_to_html("<javascript:alert(1)|click> <mailto:a@b.c|mail> <@U123>")

    assert "<a" not in html
    assert html == "click mail @U123"


def test_everything_else_is_html_escaped_and_slack_entities_read_as_characters():
    html = mrkdwn_to_html('a &lt;b&gt; &amp; <https://x.test/?a=1&amp;b="2"|l&lt;i&gt;>')

    assert html.startswith("a &lt;b&gt; &amp; ")
    assert '<a href="https://x.test/?a=1&amp;b=&quot;2&quot;">' in html
    assert html.endswith(">l&lt;i&gt;</a>")


def test_a_message_with_blocks_shows_the_blocks_not_the_text_fallback():
    body = {
        "text": "fallback <http://127.0.0.1:8000/deployments/12/|Open deployment>",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "✅ web <2.1.0>"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Reason*\nall good"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*By*\nalice"}]},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open deployment"},
                        "url": "http://127.0.0.1:8000/deployments/12/",
                    }
                ],
            },
        ],
    }

    html = message_html(body)

    assert "fallback" not in html and "|Open deployment&gt;" not in html
    assert "✅ web &lt;2.1.0&gt;" in html
    assert "<strong>Reason</strong><br>all good" in html
    assert "<strong>By</strong><br>alice" in html
    assert 'href="http://127.0.0.1:8000/deployments/12/">Open deployment</a>' in html


def test_a_message_without_blocks_shows_its_text():
    assert message_html({"text": "*hi*"}) == "<p><strong>hi</strong></p>"
