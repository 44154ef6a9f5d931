"""`python -m dashboard_project COMMAND`: the same as the `hospital-dashboard` console script."""

from runtime.cli import main

main()
