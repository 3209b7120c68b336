"""The AWS emulator the tests run against: moto's server with two changes for a long test run, and
one option.

- `GET /_gatehouse/ses/raw-messages` answers the raw emails SES accepted, as
  `[{"destinations": [...], "raw_data": "..."}]`. moto's own `/moto-api/data.json` walks every
  object of every service to find them; once a suite has filled a few hundred tables that takes
  ~10 s a call and holds the emulator's interpreter lock meanwhile.
- moto keeps every model object it ever made for that dump, so every item copy a transaction makes
  stays in memory for good (a long run grew past 12 GB). Objects are not kept here; the dump is
  empty.
- `--atomic-dynamodb`: DynamoDB requests run one at a time. moto checks a write's condition and
  then writes without holding the item, so two processes' conditional writes of one item can both
  pass; DynamoDB makes each atomic. Tests of what conditions guarantee across processes use this.
  SQS long polls still run side by side.

Usage: python tests/emulator.py PORT [--atomic-dynamodb]
"""

import argparse
import json
import os
import threading

from moto.core.common_models import BaseModel
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.ses.models import ses_backends
from werkzeug.serving import run_simple


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


BaseModel.__new__ = staticmethod(_untracked)


def raw_messages():
    found = []
    for account in list(ses_backends.values()):
        for backend in list(dict.values(account)):
            for message in list(backend.sent_messages):
                raw = getattr(message, "raw_data", None)
                if raw is not None:
                    found.append({"destinations": list(message.destinations), "raw_data": raw})
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--atomic-dynamodb", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    moto = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/_gatehouse/ses/raw-messages":
            body = json.dumps(raw_messages()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if args.atomic_dynamodb and environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with one_at_a_time:
                return list(moto(environ, start_response))
        return moto(environ, start_response)

    run_simple("127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
