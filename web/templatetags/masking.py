"""`{{ value|masked }}`: catalog text shown on pages with secrets masked, as in logs."""

from django import template

from portal.masking import mask_secrets

register = template.Library()


@register.filter
def masked(value) -> str:
    return mask_secrets(str(value)) if value else ""
