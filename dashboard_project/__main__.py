"""`python -m dashboard_project COMMAND`: the same as the `hospital-dashboard` console script."""

from dashboard_project.cli import main

main()
