"""The ``ctask`` command: ``python -m ctask …`` and the ``ctask`` console script."""

import os
import sys

from ctask._ctask import cli_main


def main() -> None:
    """Runs the ctask command line with ``sys.argv`` and exits with its status."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    if name in ("", "__main__.py", "-c"):
        name = "ctask"
    sys.stdout.flush()
    sys.exit(cli_main([name, *sys.argv[1:]]))


if __name__ == "__main__":
    main()
