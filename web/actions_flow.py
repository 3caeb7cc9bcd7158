"""How a page's form runs one domain action: the same for every POST view.

Without JavaScript the form posts and the browser is redirected back with a
message; with htmx only the form's fragment is swapped, rendered from the page's
own partial. A refusal is never silent: a person who may not act gets 403 with
the reason, a request that is wrong or too late gets the reason and nothing changes.
"""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.refusals import ActionRefused


def perform(
    request: HttpRequest,
    action: Callable[[], object],
    *,
    done: str | Callable[[object], str],
    back: str,
    then: Callable[[object], str] | None = None,
    fragment: Callable[[], HttpResponse] | None = None,
) -> HttpResponse:
    """Run `action`; then flash `done` (text, or text from the result) and go to
    `then(result)` or `back` (URLs), or, for an htmx request with a `fragment`, render
    just that fragment. A refused action goes `back`."""
    try:
        result = action()
    except ActionRefused as error:
        if error.forbidden:
            return render(request, "refused.html", {"reason": str(error), "back": back}, status=403)
        messages.error(request, str(error))
        return _answer(request, back, fragment, status=409)
    messages.success(request, done(result) if callable(done) else done)
    return _answer(request, then(result) if then else back, fragment)


def _answer(request, back: str, fragment, status: int = 200) -> HttpResponse:
    if fragment is not None and getattr(request, "htmx", False):
        response = fragment()
        response.status_code = status
        return response
    return redirect(back)
