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
- A file part of a form (a `format: binary` property, e.g. a document upload's `file`) is bytes
  on the wire whatever was generated: a negative case that draws `0` or `true` for it sends
  the one-byte file `0` or the file `true`, a valid upload. `negative_data_rejection` then
  judges the case by the generated value and reads the 201 as a wrongly accepted body.
  `before_call` records the part as the bytes the transport sends (its own `serialize_binary`),
  so schemathesis revalidates the case against what actually went out; refusals of bad uploads
  are asserted by tests/api/documents.rs.
"""

import re
import uuid

import schemathesis
from schemathesis.transport.serialization import Binary, serialize_binary

schemathesis.serializer.alias("application/x-ndjson", "text/plain")

VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_KEY.match(str(headers[name])):
            headers[name] = str(uuid.uuid4())
    _file_parts_as_sent(case)


def _file_parts_as_sent(case):
    body = case.body
    if not isinstance(body, dict) or not (case.media_type or "").startswith("multipart/"):
        return
    definition = case.operation.get_body_for_media_type(case.media_type)
    schema = getattr(definition, "resolved_schema", None) or {}
    properties = schema.get("properties") or {}
    for name, value in list(body.items()):
        prop = properties.get(name)
        if not isinstance(prop, dict) or prop.get("format") != "binary":
            continue
        if isinstance(value, (str, list)):  # Binary is a str
            continue
        body[name] = Binary(serialize_binary(value))
