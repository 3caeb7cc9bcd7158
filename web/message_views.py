"""The admins' Messages page: every notification the portal sent, filtered by GET."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts import roles
from web import message_log


@require_GET
@login_required
def message_list(request):
    if not roles.can_read_messages(request.user):
        reason = "Only admins see the messages the portal sent; ask one if a message went missing."
        context = {"reason": reason, "back": reverse("dashboard")}
        return render(request, "refused.html", context, status=403)
    page = message_log.messages_page(request.GET)
    return render(request, "messages.html", {"log": page}, status=400 if page.problem else 200)
