"""The container's health check (Dockerfile HEALTHCHECK): the web server answers /healthz.

No curl in the image; Python is there. Exit 0 when healthy.
"""

import os
import sys
import urllib.request

ANY_ADDRESS = {"", "0.0.0.0", "::"}  # noqa: S104 - what HOST may say; the check itself goes to loopback then
host = os.environ.get("HOST", "")
url = f"http://{'127.0.0.1' if host in ANY_ADDRESS else host}:{os.environ.get('PORT', '8000')}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
