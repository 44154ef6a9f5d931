#!/usr/bin/env python
"""The checkout's command line: the same as the installed `hospital-dashboard` console script."""

from runtime.cli import main

if __name__ == "__main__":
    main()
