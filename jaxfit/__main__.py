import sys

from jaxfit.cli import main

sys.exit(main())
