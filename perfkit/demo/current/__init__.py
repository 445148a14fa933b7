"""Version directory of the demo: put it first on sys.path to import its `trackmatch`."""
