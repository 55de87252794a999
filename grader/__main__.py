"""``python -m grader``: the command line of the course's grader."""
from grader.cli import main

raise SystemExit(main())
