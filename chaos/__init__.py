"""The chaos harness (`make chaos`): see chaos/__main__.py."""
