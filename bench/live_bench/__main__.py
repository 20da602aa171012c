"""`python -m bench.live_bench`: see the package's docstring."""

from bench.live_bench.run import main

main()
