"""`python -m bench.suite`: run the suite (bench.suite.run)."""

from bench.suite.run import main

main()
