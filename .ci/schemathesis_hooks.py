"""Schemathesis hooks for the CI fuzz run (loaded through SCHEMATHESIS_HOOKS).

- The NDJSON import endpoints take a text body (one JSON document per line); schemathesis has
  no serializer for application/x-ndjson, so it sends generated strings as plain text.
- Every POST takes an Idempotency-Key. The fuzzer draws its values from a small space and so
  reuses them across unrelated requests (the coverage phase sends `0` thousands of times); the
  service then rightly replays the first answer, so those cases never reach the endpoint and
  the stateful checks read a replayed 201 as a broken resource. A valid key is made unique per
  request in `before_call`, which runs in every phase (examples, coverage, fuzzing, stateful)
  just before sending; invalid keys are kept, so the 400 answer is still fuzzed. Replays
  themselves are covered by the integration tests.
"""

import re
import uuid

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = str(uuid.uuid4())
