"""`{{ image|short_image }}`: an image reference with its digest cut for the eye (the
whole reference stays in a `title`)."""

from django import template

from deployments.what_runs import short_image as _short_image

register = template.Library()


@register.filter
def short_image(value) -> str:
    return _short_image(str(value)) if value else ""
