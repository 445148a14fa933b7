"""trackmatch: match a Rekordbox playlist against an online music catalogue.

The version after restructuring (perfkit's demo current): connection reuse, a cache of
parsed responses under normalised queries, batched scoring, a leaner results loader.
"""

__version__ = "2.0.0"
