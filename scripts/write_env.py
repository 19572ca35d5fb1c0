"""Write a local `.env` with fresh secrets the first time; never overwrite an existing one.

Run by `make run`. Standard library only: it runs before the project's dependencies matter.
"""

import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    target = ROOT / ".env"
    if target.exists():
        print(f"Keeping the existing {target.name}.")
        return 0
    target.write_text(
        "# Written by `make run` for local development. Never commit this file.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"SALT_KEY={secrets.token_urlsafe(24)}\n"
        "# See .env.example for every other variable.\n"
    )
    target.chmod(0o600)
    print(f"Wrote {target.name} with a fresh SECRET_KEY and SALT_KEY.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
