"""`python -m cryptoj_tui` runs the same entry point as the `cryptoj` script."""

from cryptoj_tui.cli import main

raise SystemExit(main())
