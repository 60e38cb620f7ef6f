"""vl4gaze: gaze-following datasets as a vision-language benchmark."""

__version__ = "0.1.0"
