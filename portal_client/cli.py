"""`python -m portal_client`: release, report-ci, deploy [--wait] and status.

Exit codes: 0 done (with --wait: the deployment succeeded, the build is ready);
1 the outcome was not success (failed, rolled back, rejected, cancelled, superseded;
a failed build); 2 the portal refused the request or could not be reached;
3 --wait gave up before the end (the deployment goes on in the portal).
`deploy` of a release already on its way to that environment follows that deployment
(as if it had asked for it) instead of failing. A refusal prints the portal's reason and
what to do instead: an older release than what runs goes back by a rollback (its page
is printed); a release rolled back from that environment goes there again only with
`--confirm-repromotion REASON`.
"""

import argparse
import os
import sys
import time

from portal_client.api import ApiError, PortalClient

OK, OUTCOME_FAILED, REFUSED, TIMED_OUT = 0, 1, 2, 3
POLL_SECONDS = float(os.environ.get("PORTAL_POLL_SECONDS", "2"))  # tests shorten it


def main(argv: list[str] | None = None, *, client: PortalClient | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        client = client or PortalClient(
            os.environ.get("PORTAL_URL", ""), os.environ.get("PORTAL_TOKEN", "")
        )
        return args.run(client, args)
    except ApiError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        for hint in _what_to_do_instead(exc):
            print(hint, file=sys.stderr)
        return REFUSED


def _what_to_do_instead(exc: ApiError) -> list[str]:
    """The portal's "instead", and for a release rolled back there, how to confirm."""
    hints = []
    if exc.refusal_kind == "rolled_back":
        hints.append(
            "To promote it there again anyway, say why: add --confirm-repromotion 'REASON'."
        )
    elif exc.instead:
        hints.append(f"Instead: {exc.instead}")
    return hints


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m portal_client",
        description="Talk to the Deploy Portal from CI. Reads PORTAL_URL and PORTAL_TOKEN.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    release = commands.add_parser(
        "release", help="register a pushed image, or have the portal build a git ref"
    )
    release.add_argument("service")
    release.add_argument("version")
    source = release.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="REPO:TAG already pushed; the portal records its digest")
    source.add_argument("--git-ref", help="branch, tag or commit for the portal to build")
    release.add_argument(
        "--git-sha",
        default=os.environ.get("GITHUB_SHA", ""),
        help="the commit (default $GITHUB_SHA)",
    )
    release.add_argument("--notes", default="")
    release.add_argument(
        "--wait", action="store_true", help="follow the build until the release is ready or failed"
    )
    release.add_argument(
        "--timeout", type=float, default=1800, help="seconds --wait waits (default 1800)"
    )
    release.set_defaults(run=run_release)

    report = commands.add_parser(
        "report-ci",
        help="report a commit's test result (feeds 'All tests passing'; needs a CI token "
        "with ci:report, a personal token is refused)",
    )
    report.add_argument(
        "--sha", default=os.environ.get("GITHUB_SHA", ""), help="the commit (default $GITHUB_SHA)"
    )
    report.add_argument("--state", required=True, choices=["passed", "failed"])
    report.add_argument(
        "--url", default=_github_run_url(), help="the CI run's page (default: this GitHub run)"
    )
    report.set_defaults(run=run_report_ci)

    deploy = commands.add_parser("deploy", help="deploy a ready release to an environment")
    deploy.add_argument("service")
    deploy.add_argument("version")
    deploy.add_argument("environment")
    deploy.add_argument(
        "--wait", action="store_true", help="follow it to the end; the exit code says how it ended"
    )
    deploy.add_argument(
        "--timeout", type=float, default=3600, help="seconds --wait waits (default 3600)"
    )
    deploy.add_argument(
        "--confirm-repromotion",
        metavar="REASON",
        default="",
        help="promote again a release that was rolled back from that environment, saying why "
        "(kept on the deployment)",
    )
    deploy.set_defaults(run=run_deploy)

    status = commands.add_parser("status", help="a deployment's state, or what runs where")
    status.add_argument("deployment_id", nargs="?", type=int)
    status.set_defaults(run=run_status)
    return root


def run_release(client: PortalClient, args) -> int:
    release = client.register_release(
        args.service,
        args.version,
        image=args.image or "",
        git_ref=args.git_ref or "",
        git_sha=args.git_sha,
        notes=args.notes,
    )
    print(
        f"{release['service']} {release['version']}: {release['state']}  {release.get('url', '')}"
    )
    if args.wait and release["state"] == "building":
        release = _follow_build(client, release, args.timeout)
        if release is None:
            return TIMED_OUT
    if release["state"] == "failed":
        print(f"build failed: {release.get('reason', '')}", file=sys.stderr)
        return OUTCOME_FAILED
    if release.get("image"):
        print(release["image"])
    return OK


def run_report_ci(client: PortalClient, args) -> int:
    result = client.report_ci(args.sha, args.state, args.url)
    print(f"reported {result['git_sha'][:12]} {result['state']} as {result['reported_by']}")
    return OK


def run_deploy(client: PortalClient, args) -> int:
    deployment = _request_or_follow(client, args)
    what = f"{args.service} {args.version} to {args.environment}"
    print(f"deployment #{deployment['id']} of {what}: {deployment['state']}")
    print(deployment["url"])
    if not args.wait:
        return OK
    deployment = _follow_deployment(client, deployment, args.timeout)
    if deployment is None:
        return TIMED_OUT
    print(_ending(deployment))
    return OK if deployment["state"] == "succeeded" else OUTCOME_FAILED


def _request_or_follow(client: PortalClient, args) -> dict:
    """The new deployment, or the one already taking this release there (another job's,
    or this job's own whose answer was lost): following it is what the caller wanted."""
    try:
        return client.deploy(
            args.service,
            args.version,
            args.environment,
            repromotion_reason=args.confirm_repromotion.strip(),
        )
    except ApiError as exc:
        if exc.existing_deployment is None:
            raise
        print(
            f"portal: {exc} — following deployment #{exc.existing_deployment['id']}.",
            file=sys.stderr,
        )
        return client.deployment(exc.existing_deployment["id"])


def run_status(client: PortalClient, args) -> int:
    if args.deployment_id is not None:
        deployment = client.deployment(args.deployment_id)
        print(
            f"#{deployment['id']} {deployment['service']} {deployment['version']} "
            f"→ {deployment['environment']}: {deployment['state']}"
        )
        if deployment.get("reason"):
            print(f"  {deployment['reason']}")
        for step in deployment.get("steps", []):
            print(f"  {step['state']:<10} {step['label']}")
        print(deployment["url"])
        return OK
    for environment in client.environments():
        print(environment["name"] + (" (locked)" if environment.get("locked") else ""))
        for running in environment.get("services", []):
            print(f"  {running['service']:<20} {running.get('version') or '—'}")
    return OK


def _ending(deployment: dict) -> str:
    reason = deployment.get("reason") or ""
    return f"deployment #{deployment['id']} {deployment['state']}" + (
        f": {reason}" if reason else ""
    )


def _follow_deployment(client: PortalClient, deployment: dict, timeout: float) -> dict | None:
    """Print new log lines and state changes until the deployment ends; None on timeout."""
    deadline, after, said = time.monotonic() + timeout, 0, ""
    while True:
        page = client.deployment_log(deployment["id"], after)
        for line in page["lines"]:
            print(f"  {line['text']}")
        after = page["last_seq"] or after
        deployment = client.deployment(deployment["id"])
        if deployment["is_final"] and not page["lines"]:
            return deployment
        if (news := f"{deployment['state']}: {deployment.get('reason') or ''}") != said:
            print(f"… {news}".rstrip(": "), file=sys.stderr)
            said = news
        if time.monotonic() > deadline:
            print(
                f"gave up waiting after {timeout:.0f} s; it goes on: {deployment['url']}",
                file=sys.stderr,
            )
            return None
        time.sleep(POLL_SECONDS)


def _follow_build(client: PortalClient, release: dict, timeout: float) -> dict | None:
    deadline, after = time.monotonic() + timeout, 0
    while True:
        page = client.release_log(release["service"], release["version"], after)
        for line in page["lines"]:
            print(f"  {line['text']}")
        after = page["last_seq"] or after
        release = client.release(release["service"], release["version"])
        if release["state"] != "building" and not page["lines"]:
            return release
        if time.monotonic() > deadline:
            print(
                f"gave up waiting after {timeout:.0f} s; "
                f"the build goes on: {release.get('url', '')}",
                file=sys.stderr,
            )
            return None
        time.sleep(POLL_SECONDS)


def _github_run_url() -> str:
    server, repository, run = (
        os.environ.get(name, "")
        for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repository}/actions/runs/{run}" if server and repository and run else ""
