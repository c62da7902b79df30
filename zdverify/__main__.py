"""``python -m zdverify``: the same as the ``zdverify`` command."""
from zdverify.cli import entry

if __name__ == "__main__":
    entry()
