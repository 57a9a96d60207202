"""``python -m tideflow info [--json]``: see :mod:`tideflow.info`."""

from __future__ import annotations

import sys

from tideflow.info import main

if __name__ == "__main__":
    sys.exit(main())
