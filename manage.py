#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    # Production's settings unless DJANGO_SETTINGS_MODULE names others (`make` targets name config.settings.local;
    # by hand: export DJANGO_SETTINGS_MODULE=config.settings.local).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
