"""``python -m dlcourse validate NOTEBOOK...``: check your work (see :mod:`dlcourse.validate`)."""
import sys

from dlcourse.validate import main

sys.exit(main())
