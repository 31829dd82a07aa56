extensions = ["myst_parser", "gueststate.sphinxext"]
exclude_patterns = ["_build"]
nitpicky = True
