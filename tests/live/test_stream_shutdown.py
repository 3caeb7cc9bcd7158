"""A stopping uvicorn ends its live streams itself: it does not wait for the pages to
close, nor cancel the streams mid-response when its graceful timeout runs out."""

import signal

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopping_server_ends_every_open_stream_cleanly_and_exits(
    start_portal, cookies, streams, deployment, rollout, signum
):
    portal = start_portal()
    viewers = [
        streams(f"{portal.url}/deployments/{deployment.pk}/events/?after=0", cookies)
        for _ in range(2)
    ]
    lanes = streams(f"{portal.url}/live/lanes/?lane={deployment.lane_id}", cookies)
    for viewer in viewers:
        viewer.next(name="status")
    assert lanes.body_started.wait(10) and lanes.status == 200

    portal.process.send_signal(signum)
    portal.process.wait(timeout=30)

    for stream in [*viewers, lanes]:
        assert stream.closed.wait(5)
        assert stream.error is None, f"the stream broke instead of ending: {stream.error!r}"
    log = portal.log_path.read_text()
    assert "timeout graceful shutdown exceeded" not in log, log
    assert "Traceback" not in log, log
