"""trackmatch: match a Rekordbox playlist against an online music catalogue.

The version before restructuring (perfkit's demo baseline).
"""

__version__ = "1.4.0"
