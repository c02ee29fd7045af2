"""`python -m pyvisor_worker --import MODULE`: the entry point the Node host spawns."""
import sys

from .bootstrap import main

sys.exit(main())
