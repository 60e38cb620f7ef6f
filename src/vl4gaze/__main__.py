"""``python -m vl4gaze``: the same command line as ``vl4gaze``."""

from vl4gaze.cli import main

main()
