"""Schemathesis hooks for the CI fuzz run (loaded through SCHEMATHESIS_HOOKS).

The NDJSON import endpoints take a text body (one JSON document per line); schemathesis has
no serializer for application/x-ndjson, so it sends generated strings as plain text.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
