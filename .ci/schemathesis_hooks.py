"""Schemathesis hooks for the CI fuzz run (loaded through SCHEMATHESIS_HOOKS).

- The NDJSON import endpoints take a text body (one JSON document per line); schemathesis has
  no serializer for application/x-ndjson, so it sends generated strings as plain text.
- Every POST takes an Idempotency-Key. The fuzzer draws its values from a small space and so
  reuses them across unrelated requests; the service then rightly replays the first answer
  (say, a 201 for a feed token that a later request revoked), which the stateful checks read
  as a broken resource. A valid generated key is made unique per case; invalid ones are kept, so the
  400 answer is still fuzzed. Replays themselves are covered by the integration tests.
"""

import re
import uuid

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def map_headers(context, headers):
    for name in list(headers or {}):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = str(uuid.uuid4())
    return headers
