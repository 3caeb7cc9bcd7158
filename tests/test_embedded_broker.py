"""The embedded broker hands over whole messages, never a file still being written."""

from kombu import Connection

from portal.broker import Transport


def broker(tmp_path) -> Connection:
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(tmp_path / "control"),  # kombu's default is ./control
    }
    return Connection("filesystem://localhost//", transport=Transport, transport_options=options)


def test_a_message_is_delivered_whole_and_no_partial_file_is_left(tmp_path):
    with broker(tmp_path) as connection:
        queue = connection.SimpleQueue("tasks")
        for n in range(20):
            queue.put({"task": "observe_clusters", "n": n})
        received = [queue.get(timeout=1) for _ in range(20)]
        # Files are named by the millisecond, as kombu names them: no order within one.
        assert sorted(message.payload["n"] for message in received) == list(range(20))
        for message in received:
            message.ack()
        queue.close()
    assert not [p.name for p in (tmp_path / "queue").iterdir() if p.name.endswith(".partial")]


def test_a_file_still_being_written_is_not_read(tmp_path):
    """A half-written message sits under a name the reader skips: the queue is empty."""
    with broker(tmp_path) as connection:
        (tmp_path / "queue" / ".1_x.tasks.msg.partial").write_bytes(b"")
        queue = connection.SimpleQueue("tasks")
        try:
            queue.get(timeout=0.2)
            raise AssertionError("read a message that was not written yet")
        except queue.Empty:
            pass
        queue.close()
