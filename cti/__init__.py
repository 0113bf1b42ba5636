"""cti: an open-source contact-center server driving Asterisk through ARI."""

__version__ = "0.1.0"
