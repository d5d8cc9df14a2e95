import sys

from chronotick.cli import main

sys.exit(main())
