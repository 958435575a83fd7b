"""``python -m gancourse``: the command line of :mod:`gancourse.cli`.

Explained in the chapter "Scaling up".
"""

from gancourse.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
