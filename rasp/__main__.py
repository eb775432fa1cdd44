import sys

from rasp.cli import main

sys.exit(main())
