"""``python -m zdverify``: the same as the ``zdverify`` command."""
from zdverify.cli import main

if __name__ == "__main__":
    main(prog_name="zdverify")
