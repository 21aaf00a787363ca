#!/usr/bin/python3
"""A real SMTP server for Watchkeeper's tests (Debian's python3-aiosmtpd; run with /usr/bin/python3).

    /usr/bin/python3 smtp_sink.py --port P --dir D [--auth USER:PASSWORD] [--tempfail N]

Listens on 127.0.0.1:P and prints "ready" on stdout once it accepts connections. Every message
it accepts becomes two files in D, numbered in arrival order:
  000001.eml   the DATA bytes exactly as received (dot-stuffing undone, final CRLF kept)
  000001.json  {"mail_from": ..., "rcpt_tos": [...], "mail_options": [...],
                "data_file": "000001.eml", "size": N, "auth_user": ... or null}
The .json file appears last (written to a temporary name and renamed), so a reader that sees
it can read both. With --tempfail N the first N messages are refused after DATA with
"451 4.3.0" (a relay that is failing for a while) and not saved. With --auth, AUTH PLAIN/LOGIN is offered over plain text and required before
MAIL; wrong credentials get 535. Stops on SIGTERM or SIGINT, and when the process that
started it dies (Linux parent-death signal), so a crashed test leaves no server behind.
"""

import argparse
import ctypes
import json
import logging
import os
import signal
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class SaveHandler:
    def __init__(self, directory, tempfail):
        self.directory = directory
        self.tempfail = tempfail
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.tempfail > 0:
                self.tempfail -= 1
                return "451 4.3.0 temporary failure (smtp_sink --tempfail)"
            self.count += 1
            number = self.count
        base = os.path.join(self.directory, "%06d" % number)
        data = envelope.original_content or b""
        with open(base + ".eml", "wb") as f:
            f.write(data)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "data_file": os.path.basename(base + ".eml"),
            "size": len(data),
            "auth_user": getattr(session, "auth_data", None) and session.auth_data.login.decode(
                "utf-8", "replace"),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK message %d accepted" % number


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
                and auth_data.password == password.encode():
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticate


def stop_with_parent():
    parent = os.getppid()
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--auth", help="USER:PASSWORD required before MAIL")
    parser.add_argument("--tempfail", type=int, default=0,
                        help="refuse the first N messages with 451 after DATA")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    options = {}
    if args.auth:
        # Plain-text AUTH is the point of a local test server: keep its warnings out of the log.
        warnings.simplefilter("ignore")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        user, _, password = args.auth.partition(":")
        options.update(authenticator=make_authenticator(user, password), auth_required=True,
                       auth_require_tls=False)
    controller = Controller(SaveHandler(args.dir, args.tempfail), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    stop_with_parent()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
