extensions = ["myst_parser", "gueststate.sphinxext"]
exclude_patterns = ["_build"]
xml_example_formats = {
    "mirror": "grammars/mirror.rng",
    "{urn:x-example:package}package": "grammars/package.rng",
}
