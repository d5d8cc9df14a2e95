"""The `chronotick` command. Each subcommand lives in its own module and is
imported only when used, so `chronotick demo` does not pay for torch or
matplotlib."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from chronotick.errors import ChronotickError

class UsageError(ValueError):
    """A command-line option whose value is wrong by itself (out of range, not a model name,
    not one of the choices): exit status 2, as argparse's own refusals (a non-number where a
    number goes). A failure at run time -- a file missing, unreadable or not a trace, bad data,
    a model that fails, a port in use -- is exit status 1."""


# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
SUBCOMMANDS = {
    "demo": ("chronotick.cli.demo", "forecast a shipped real NTP trace and plot it in the terminal"),
    "backtest": ("chronotick.cli.backtest", "leakage-free rolling-origin backtest of forecasters on a trace"),
    "simulate": ("chronotick.cli.simulate", "simulate a clock and its NTP measurements to CSV"),
    "export": ("chronotick.cli.export", "export a time-series foundation model to ONNX"),
    "serve": ("chronotick.cli.serve", "run a corrected clock and publish it in shared memory"),
    "status": ("chronotick.cli.status", "print the state published by `chronotick serve`"),
}


def traceback_if_asked() -> None:
    """With CHRONOTICK_TRACEBACK set, print the exception being handled's traceback on stderr. The
    command's one-line message and exit code follow it as without (re-raising had made every
    failure exit 1: `status` with no clock read as UNKNOWN; an audit, 2026-12-06)."""
    if os.environ.get("CHRONOTICK_TRACEBACK"):
        import traceback
        traceback.print_exc()


def _stdout_closed() -> bool:
    """Whether stdout's reader is gone; if so, stdout is pointed at /dev/null so that the
    interpreter's own flush at exit does not fail on it too."""
    import select
    try:
        fd = sys.stdout.fileno()
        p = select.poll()
        p.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _, ev in p.poll(0))    # a pipe whose read end is closed
    except (OSError, ValueError, AttributeError):
        return False
    if gone:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except OSError:
            pass
    return gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chronotick", description=(
        "Predictive, bounded clock correction: forecast a clock's offset, serve corrected time with error bounds."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules, parsers = {}, {}
    for name, (modname, help_) in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue  # subcommand not part of this build
            raise
        p = sub.add_parser(name, help=help_, description=help_)
        mod.add_arguments(p)
        modules[name], parsers[name] = mod, p
    args, extra = parser.parse_known_args(argv)
    if extra and args.command is None:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    if extra:
        # an unknown option after the command: that command's usage and name (the top level's
        # "usage: chronotick [-h] COMMAND ..." had named neither; exit 2 as before)
        parsers[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    rc = None
    try:
        rc = int(modules[args.command].run(args) or 0)
        sys.stdout.flush()     # here, where a reader gone is handled (at exit it was "Exception ignored", 120)
        return rc
    except UsageError as exc:
        traceback_if_asked()
        print(f"chronotick {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        if _stdout_closed():
            # the reader stopped early (`chronotick demo | head`): not a failure of the command, as
            # simulate --out - already took it (demo had exited 1, "[Errno 32] Broken pipe"); the
            # command's own code where it had one (status: the clock's state)
            return 0 if rc is None else rc
        traceback_if_asked()
        print(f"chronotick {args.command}: broken pipe", file=sys.stderr)
        return 1
    except (ChronotickError, ValueError, OSError, ImportError) as exc:
        # bad input (a value, a file, a config key, a model file) or a missing optional package
        # (matplotlib for --plot): the message names it; a traceback would only bury it.
        # CHRONOTICK_TRACEBACK=1 shows the traceback too.
        traceback_if_asked()
        print(f"chronotick {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: one line, the shell's code for SIGINT (a KeyboardInterrupt traceback had
        # filled the screen; serve and export handle it themselves)
        traceback_if_asked()
        print(f"chronotick {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
