"""The `portero` command: Django's management commands with Portero's settings."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management import execute_from_command_line


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "demo":
        os.environ.setdefault("PORTERO_ENV", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portero.config.settings")
    try:
        execute_from_command_line(argv)
    except ImproperlyConfigured as problem:  # a setting to fix: say which, without a traceback
        hint = (
            ""
            if os.environ.get("PORTERO_ENV")
            else "\n(Working with the demo's data? Run it as PORTERO_ENV=demo portero ...)"
        )
        sys.exit(f"portero: configuration error: {problem}{hint}")


if __name__ == "__main__":
    main()
