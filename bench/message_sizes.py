"""``panel serve app.py --setup bench/message_sizes.py``: log the largest websocket messages.

Each time a Bokeh message received from a page (all its fragments) or sent to one is the
largest of its type so far, one line ``bpx-message-size received|sent TYPE BYTES`` is logged.
Used by ``bench/bench_messages.py``; changes nothing else.
"""

import logging

from bokeh.protocol.message import Message
from bokeh.protocol.receiver import Receiver

log = logging.getLogger("backprop_explorer.message_sizes")
if not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False
_largest = {}


def _note(direction: str, msgtype: str, size: int) -> None:
    if size > _largest.get((direction, msgtype), -1):
        _largest[direction, msgtype] = size
        log.info("bpx-message-size %s %s %d", direction, msgtype, size)


_consume = Receiver.consume


async def consume(self, fragment):
    self._bpx_size = getattr(self, "_bpx_size", 0) + len(fragment)
    message = await _consume(self, fragment)
    if message is not None:
        _note("received", message.msgtype, self._bpx_size)
        self._bpx_size = 0
    return message


_send = Message.send


async def send(self, conn):
    sent = await _send(self, conn)
    _note("sent", self.msgtype, sent or 0)
    return sent


Receiver.consume = consume
Message.send = send
