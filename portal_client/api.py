"""The HTTP side: one method per API call, the portal's error sentence on failure.

Every POST carries an `Idempotency-Key` made once per call, and a connection failure or
a 502/503/504 is retried with the same key, so a retry never acts twice. A 409 saying the
first request with that key is still being handled (an earlier try whose answer was
lost is acting) is retried with the same key too, a few times, until its answer comes.
"""

import time
import uuid

import httpx

RETRIED_STATUSES = frozenset({502, 503, 504})
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
IN_FLIGHT_TRIES = 6  # with the default wait of 2 s: about 10 s, then the refusal is reported


class ApiError(Exception):
    """The portal refused or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None, detail=None):
        super().__init__(message)
        self.status = status
        self.detail = detail  # the portal's `detail`, e.g. {"existing_deployment": {…}}

    @property
    def existing_deployment(self) -> dict | None:
        """The deployment already doing what was asked (id, state, url), if that is why."""
        return self.detail.get("existing_deployment") if isinstance(self.detail, dict) else None

    @property
    def refusal_kind(self) -> str:
        """Which promotion rule refused (e.g. "older", "rolled_back", "locked"), or ""."""
        return self.detail.get("kind") or "" if isinstance(self.detail, dict) else ""

    @property
    def instead(self) -> str:
        """The portal page to go to instead (a rollback's confirmation, …), or ""."""
        return self.detail.get("instead") or "" if isinstance(self.detail, dict) else ""

    @property
    def in_flight(self) -> bool:
        """The first request with this Idempotency-Key is still being handled."""
        return isinstance(self.detail, dict) and self.detail.get("in_flight") is True


class PortalClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport=None,
        in_flight_wait: float = 2.0,
    ):
        if not url:
            raise ApiError(
                "PORTAL_URL is not set: give the portal's address, e.g. https://deploy.example.com."
            )
        if not token:
            raise ApiError(
                "PORTAL_TOKEN is not set: create a CI token in the portal (Your tokens) "
                "and store it as a secret."
            )
        self.base_url = url.rstrip("/") + "/api/v1"
        self.in_flight_wait = in_flight_wait
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Calls

    def register_release(
        self,
        service: str,
        version: str,
        *,
        image: str = "",
        git_ref: str = "",
        git_sha: str = "",
        notes: str = "",
    ) -> dict:
        body = {"service": service, "version": version, "git_sha": git_sha, "notes": notes}
        body.update({"image": image} if image else {"git_ref": git_ref})
        return self._post("/releases", body)

    def release(self, service: str, version: str) -> dict:
        return self._get(f"/releases/{service}/{version}")

    def release_log(self, service: str, version: str, after_seq: int = 0) -> dict:
        return self._get(f"/releases/{service}/{version}/log", params={"after_seq": after_seq})

    def report_ci(self, git_sha: str, state: str, url: str = "") -> dict:
        return self._post("/ci-results", {"git_sha": git_sha, "state": state, "url": url})

    def deploy(
        self, service: str, version: str, environment: str, *, repromotion_reason: str = ""
    ) -> dict:
        """Request a deployment; `repromotion_reason` confirms promoting again a release
        that was rolled back from that environment."""
        body = {"service": service, "version": version, "environment": environment}
        if repromotion_reason:
            body.update(confirm_repromotion=True, repromotion_reason=repromotion_reason)
        return self._post("/deployments", body)

    def deployment(self, deployment_id: int) -> dict:
        return self._get(f"/deployments/{deployment_id}")

    def deployment_log(self, deployment_id: int, after_seq: int = 0) -> dict:
        return self._get(f"/deployments/{deployment_id}/log", params={"after_seq": after_seq})

    def environments(self) -> list[dict]:
        return self._get("/environments")

    # Transport

    def _get(self, path: str, params: dict | None = None):
        return self._send("GET", path, params=params)

    def _post(self, path: str, body: dict):
        """POST once per key: an answer still being worked out is waited for (bounded)."""
        key = str(uuid.uuid4())
        for tries in range(1, IN_FLIGHT_TRIES + 1):
            try:
                return self._send("POST", path, json=body, headers={"Idempotency-Key": key})
            except ApiError as exc:
                if not exc.in_flight:
                    raise
                if tries == IN_FLIGHT_TRIES:
                    raise ApiError(
                        f"{exc} (tried {tries} times; it may still finish, so look in the "
                        "portal before asking again)",
                        exc.status,
                        exc.detail,
                    ) from None
            time.sleep(self.in_flight_wait)
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs):
        for delay in (*RETRY_DELAYS, None):
            try:
                response = self._http.request(method, self.base_url + path, **kwargs)
            except httpx.TransportError as exc:
                if delay is None:
                    raise ApiError(
                        f"Could not reach the portal at {self.base_url}: {exc}."
                    ) from None
            else:
                if response.status_code not in RETRIED_STATUSES or delay is None:
                    return _answer(response)
            time.sleep(delay)
        raise AssertionError("unreachable")


def _answer(response: httpx.Response):
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        return body
    message = body.get("error") if isinstance(body, dict) else None
    raise ApiError(
        message or f"The portal answered {response.status_code} {response.reason_phrase}.",
        response.status_code,
        body.get("detail") if isinstance(body, dict) else None,
    )
