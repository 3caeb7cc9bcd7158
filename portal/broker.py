"""The embedded broker (`make run`, no Redis): kombu's file-system transport, with each
message file written whole before a worker can see it."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue` atomically.

        kombu creates the message file under its final name and then writes it: a
        worker listing the folder in between moves it away empty and dies on the JSON
        (celery/kombu#1551; the demo's worker did, when beat sent three tasks at once).
        Here it is written under a name the reader skips, then renamed into place.
        """
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
