extensions = ["myst_parser", "gueststate.sphinxext.example"]
exclude_patterns = ["_build"]
