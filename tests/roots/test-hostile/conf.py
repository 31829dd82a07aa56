# One hostile document shown as an example; tests/test_trust_hostile_build.py writes it into a
# copy of this project (the secret's path and the listener's port change on every run, and some
# documents are megabytes long).
extensions = ["gueststate.sphinxext.example"]
exclude_patterns = ["_build"]
