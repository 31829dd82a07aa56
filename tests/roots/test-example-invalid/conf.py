extensions = ["gueststate.sphinxext.example"]
exclude_patterns = ["_build"]
