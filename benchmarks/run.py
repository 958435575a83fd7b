"""``make bench``: the throughput and time-to-quality benchmarks, results in benchmarks/results/.

    python benchmarks/run.py [--threads N] [--quick]      # add --book to time every notebook too (long)

``--quick`` runs every benchmark for a few steps only, to check that they work (a smoke test); its
results go to ``results/smoke_*`` and are not meaningful as numbers.
"""

from __future__ import annotations

import argparse
import sys

import book_times
import throughput
import time_to_quality


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch (default: PyTorch's)")
    parser.add_argument("--quick", action="store_true", help="a few steps of everything, to check the scripts")
    parser.add_argument("--book", action="store_true", help="also time every notebook, quick and full (long)")
    args = parser.parse_args(argv)
    threads = ["--threads", str(args.threads)] if args.threads else []
    if args.quick:
        status = throughput.main(["--reps", "2", "--scale", "0.1", "--name", "smoke_throughput", *threads])
        status |= time_to_quality.main(["--ring-steps", "250", "--dcgan-steps", "50", "--name", "smoke_time_to_quality",
                                        *threads])
        if args.book:
            status |= book_times.main(["--mode", "quick", "--name", "smoke_book_times"])
        return status
    status = throughput.main(threads)
    status |= time_to_quality.main(threads)
    if args.book:
        status |= book_times.main([])
    return status


if __name__ == "__main__":
    sys.exit(main())
