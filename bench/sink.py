"""An SMTP sink run as its own process: accept every message, log when and for whom.

    python bench/sink.py --port P --delay 0.05 --log FILE

Each accepted message appends one JSON line to FILE: the wall-clock time (time.time()) at
which it answered 250, the username named in the message (Portero's reset e-mail says "de
usuario <name>"; otherwise the first recipient), and the first link in the text. A separate
process, so that accepting mail never waits for the load generator's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

USERNAME = re.compile(r"(?:de usuario|of user) (\S+?)[,:\s]")
LINK = re.compile(r"https?://\S+/restablecer/[^\s/]+/")


def describe(data: bytes) -> dict[str, str]:
    """Return the username and reset link a message carries (empty strings if none)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    user, link = USERNAME.search(text), LINK.search(text)
    return {
        "user": user[1] if user else "",
        "link": link[0] if link else "",
        "to": str(message.get("To", "")),
    }


class Handler:
    def __init__(self, delay: float, log: Any) -> None:
        self.delay, self.log = delay, log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow relay: 50 ms per message
        record = {"t": time.time(), **describe(envelope.content)}
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        return "250 2.0.0 Accepted"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Path(args.log).open("a", encoding="utf-8") as log:
        controller = Controller(Handler(args.delay, log), hostname="127.0.0.1", port=args.port)
        controller.start()
        print("sink ready", flush=True)
        try:
            stop.wait()
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
