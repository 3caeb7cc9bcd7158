"""The login page under throttles, and the admins' page of throttles with a Lift button."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import roles, throttling
from accounts.forms import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    """Django's login page; a throttled attempt answers 429 with Retry-After."""

    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttle is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.throttle.seconds_left(throttling.now()))
        return response


@require_GET
@login_required
def throttle_list(request):
    if not roles.is_admin(request.user):
        return _refused(request)
    longest = throttling.duration(settings.PORTAL_THROTTLE_MAX_WAIT_SECONDS)
    context = {"throttles": throttling.active(), "max_wait": longest}
    return render(request, "throttles.html", context)


@require_POST
@login_required
def lift(request):
    if not roles.is_admin(request.user):
        return _refused(request)
    kind, subject = request.POST.get("kind", ""), request.POST.get("subject", "")
    if kind not in throttling.Kind.values:
        messages.error(request, f"{kind!r} is not a kind of throttle; use the page's Lift button.")
        return redirect("throttles")
    try:
        lifted = throttling.lift(throttling.Kind(kind), subject, actor=request.user, via="page")
    except LookupError as gone:
        messages.info(request, f"{gone} Its wait may have ended, or another admin lifted it.")
        return redirect("throttles")
    messages.success(request, f"Lifted: {lifted.kind.label.lower()} {lifted.subject}.")
    return redirect("throttles")


def _refused(request):
    reason = "Only admins see and lift sign-in throttles; ask one to lift yours."
    context = {"reason": reason, "back": reverse("dashboard")}
    return render(request, "refused.html", context, status=403)
