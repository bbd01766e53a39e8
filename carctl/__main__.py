"""`python -m carctl` runs the same entry point as the console script."""

from carctl.entry import main

if __name__ == "__main__":
    main()
