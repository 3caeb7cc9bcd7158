"""Every use of an API token is audited: token prefix, method, path and status."""

from deployments import audit


class ApiAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        token = getattr(request, "api_token", None)
        if token is not None:
            audit.record(
                "api.request",
                actor=token.user,
                target=f"token:{token.prefix}",
                method=request.method,
                path=request.path[:500],
                status=response.status_code,
                replayed=response.has_header("Idempotent-Replayed"),
            )
        return response
