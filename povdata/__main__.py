import sys

from povdata.cli import main

sys.exit(main())
