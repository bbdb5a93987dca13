"""Answer content as data files, with the loader that validates them (docs/content-format.md)."""
