import sys

from ramp_env.cli import main

sys.exit(main())
