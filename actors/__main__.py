"""`python -m actors ...`: see `actors.cli.main`."""

from actors.cli.main import main

raise SystemExit(main())
