"""The ``gueststate`` command: a thin shell over the library.

Exit status: 0 when all is well, 1 when a document is invalid or malformed, 2 on usage or I/O
errors.  Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import functools
import io
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from gueststate import __version__, parallel, schemas, scratch, xmlsafe
from gueststate.problems import GueststateError, Problem, printable

if TYPE_CHECKING:
    from types import FrameType

    from _typeshed import SupportsWrite

    from gueststate import rng
    from gueststate.rng.definitions import Definitions

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable path: exit status 2."""


def _cannot(path: object, verb: str, error: OSError) -> UsageError:
    """The one-line error for a path that cannot be read or written."""
    return UsageError(f"{printable(str(path))}: cannot {verb}: "
                      f"{error.strerror or error}")


class _Parser(argparse.ArgumentParser):
    """argparse, its usage errors said in one escaped line: the arguments it quotes may be
    file names (``gueststate format *.xml``), which must not forge a line or reach the
    terminal."""

    def error(self, message: str) -> NoReturn:
        _error(f"{printable(message)} (see: {self.prog} --help)")
        sys.exit(EXIT_USAGE)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """Write ``--help`` and ``--version``; unlike argparse, let a failure be known."""
        if message:
            (file or sys.stderr).write(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also rendered on the site by sphinx-argparse)."""
    parser = _Parser(
        prog="gueststate",
        description="Validate, inspect and normalise libvirt's domainbackup, "
        "domaincheckpoint and domainsnapshot XML.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check documents against the schemas",
        description="Check each document against its format's RELAX NG schema. "
        "Exit 0 when every document is valid, 1 when any is invalid or malformed, "
        "2 on usage or I/O errors.",
    )
    validate.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="a file, a directory (every .xml file below it) or - for standard input",
    )
    validate.add_argument(
        "--schema", choices=sorted(schemas.FORMATS),
        help="validate against this format instead of detecting it from the root element",
    )
    validate.add_argument(
        "--format", choices=("text", "json"), default="text", dest="output",
        help="text: one path:line:column: message per problem; json: one object",
    )
    validate.add_argument(
        "--libvirt-schemas", type=Path, metavar="DIR",
        help="also validate an embedded <domain> strictly with libvirt's own schemas from DIR "
        f"(Debian installs them in {schemas.LIBVIRT_SCHEMA_DIR})",
    )
    validate.add_argument(
        "--libvirt-version", metavar="X.Y.Z",
        help="judge documents as that libvirt release's schemas would: what a later release "
        "added is refused, naming the release that added it (the schemas know releases up to "
        "12.9.0)",
    )
    validate.set_defaults(handler=_cmd_validate)

    reference = commands.add_parser(
        "reference", help="print the content model of a RELAX NG grammar",
        description="Read any RELAX NG grammar (XML syntax) with its includes and print the "
        "content model of its start pattern. Exit 1 with path:line:column: message for a "
        "grammar that cannot be read, 2 when the file cannot be opened.",
    )
    reference.add_argument("grammar", metavar="RNG", type=Path, help="the grammar file")
    reference.add_argument(
        "--format", choices=("text", "json"), default="text", dest="output",
        help="text: an indented outline; json: the tree, one object per node",
    )
    reference.add_argument(
        "--by", choices=("path", "definition"), default="path",
        help="path: the start pattern as one tree, every element where it may appear; "
        "definition: one entry per element definition, children named by key (for document "
        "grammars whose elements recur, like DocBook)",
    )
    reference.set_defaults(handler=_cmd_reference)

    _add_model_commands(commands)

    listing = commands.add_parser(
        "schemas", help="list the formats and where their schemas are",
        description="List the formats this tool knows and the schema file of each.",
    )
    listing.set_defaults(handler=_cmd_schemas)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help or --version printed, or a usage error said
        if done.code == 0:
            return _flushed(EXIT_OK)
        raise
    except BrokenPipeError:
        return _flushed(EXIT_OK)
    except OSError as error:
        return _unwritten(error)
    if sys.stdout is None:  # started with descriptor 1 closed: writing is an I/O error
        sys.stdout = _ClosedOutput()
    elif isinstance(sys.stdout, io.TextIOWrapper):  # an ASCII locale cannot fail on a name
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        status: int = args.handler(args)
    except (UsageError, schemas.SchemaError) as error:
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except parallel.WorkerLost as error:
        _error(str(error))
        return EXIT_USAGE
    except BrokenPipeError:
        return _flushed(EXIT_OK)
    except OSError as error:
        return _unwritten(error)
    return _flushed(status)


def _flushed(status: int) -> int:
    """``status`` once the output is written; a full disk shows here, not in the
    interpreter's exit, where it would be lost."""
    if sys.stdout is None:
        return status
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`gueststate reference ... | head`): not an error of ours.
        _silence_stdout()
        return EXIT_OK
    except OSError as error:
        return _unwritten(error)
    return status


def _unwritten(error: OSError) -> int:
    """Writing the output failed (ENOSPC, EIO, ...): one line, exit 2."""
    _silence_stdout()
    _error(f"cannot write the output: {error.strerror or error}")
    return EXIT_USAGE


#: Termination signals that end the command like an error would, its clean-up done: forked
#: workers stopped, the release workspace removed.  (SIGINT already does, as KeyboardInterrupt.)
_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def run() -> NoReturn:
    """The ``gueststate`` console script: :func:`main`, then an exit without teardown.

    Tearing the interpreter down frees every tree, grammar and remembered fit one object at
    a time, a tenth of a large run's time for nothing (mypy exits the same way).  The output
    is flushed and exit handlers run (the release workspace is removed) before the exit.
    SIGTERM and SIGHUP end the command with status 128 + the signal's number.
    """
    for number in _TERMINATING:
        if signal.getsignal(number) is not signal.SIG_IGN:  # nohup's choice stays
            signal.signal(number, _terminated)
    status = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # said in main already
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)


def _terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


class _ClosedOutput(io.TextIOBase):
    """Standard output when there is none: every write fails as writing to it would."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _error(message: str) -> None:
    if sys.stderr is None:  # nowhere to say it (print would fall back to stdout)
        return
    with contextlib.suppress(OSError):  # nowhere left to say it; the exit status still does
        print(f"gueststate: {message}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor behind sys.stdout
        pass


#: Below this many files one process is quicker than starting others.
PARALLEL_FROM = 64


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.paths.count("-") > 1:  # the second read would find it used up, "empty"
        raise UsageError("standard input (-) can be given only once")
    libvirt_schemas: Path | None = args.libvirt_schemas
    if libvirt_schemas is not None:
        # Compiled now, through the hardened reader: a bad directory is a usage error.
        schemas.compiled(libvirt_schemas / "domain.rng")
    version: str | None = args.libvirt_version
    try:
        schemas.check_libvirt_version(version)
    except ValueError as error:
        raise UsageError(str(error)) from None
    unreadable: list[str] = []
    paths = list(_expand(args.paths, unreadable))
    verdicts = _validate_all(paths, _Job(args.schema, libvirt_schemas, version, args.output))
    checked = [verdict for verdict in verdicts if verdict.unreadable is None]
    if args.output == "json":
        lines = ",\n".join(verdict.output for verdict in checked)
        _write(f'{{"files": [\n{lines}\n]}}\n' if checked else '{"files": []}\n')
    elif any(verdict.output for verdict in checked):  # nothing to say: stdout untouched
        _write("".join(verdict.output for verdict in checked))
    unreadable += [verdict.unreadable for verdict in verdicts if verdict.unreadable is not None]
    for message in unreadable:
        _error(message)
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(verdict.valid for verdict in checked) else EXIT_INVALID


def _write(text: str) -> None:
    """Write the output of a command whose exit status is a verdict.

    A reader that stops early (``| head``) has chosen to see less: the verdict, already
    decided, is still the exit status, whereas a full disk is an error (see :func:`main`).
    """
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


class _Verdict(NamedTuple):
    """One file's part of the output, worked out where the file was validated."""

    output: str  # its JSON object, or its problem lines
    valid: bool
    unreadable: str | None  # why the file could not be read, instead


@dataclass(frozen=True)
class _Job:
    """Validate one file and render its verdict (in a worker process, for many files)."""

    schema: str | None
    libvirt_schemas: Path | None
    version: str | None
    output: str

    def __call__(self, path: str) -> _Verdict:
        try:
            if path == "-":
                result = schemas.validate_bytes(
                    _read_stdin(), "<stdin>", self.schema, self.libvirt_schemas,
                    libvirt_version=self.version)
            else:
                result = schemas.validate_file(path, self.schema, self.libvirt_schemas,
                                               libvirt_version=self.version)
        except OSError as error:
            return _Verdict("", False, str(_cannot("<stdin>" if path == "-" else path, "read",
                                                   error)))
        if self.output == "json":
            # One file a line: json.dumps without indent encodes in C, ten times as fast.
            return _Verdict(json.dumps(result.as_dict()), result.valid, None)
        return _Verdict("".join(f"{problem}\n" for problem in result.problems), result.valid,
                        None)


def _validate_all(paths: list[str], job: _Job) -> list[_Verdict]:
    """Each path's verdict, in order; many files are shared among the processors."""
    processes = min(len(os.sched_getaffinity(0)), len(paths) // (PARALLEL_FROM // 2))
    if "-" in paths:
        processes = 1
    try:
        return parallel.map_shared(job, paths, processes,
                                   chunk=max(1, min(16, len(paths) // 64)))
    finally:
        if processes > 1:  # a worker stopped in the middle of compiling left its folder
            scratch.remove_abandoned()


def _read_stdin() -> bytes:
    """Standard input, bounded like a file; a closed or unreadable one is an I/O error."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise OSError(0, "standard input is closed")
    data: bytes = stream.read(xmlsafe.MAX_DOCUMENT_BYTES + 1)
    return data


def _expand(paths: Sequence[str], unreadable: list[str]) -> Iterator[str]:
    """Each path as given; a directory becomes the ``*.xml`` files below it, sorted.

    A folder below it that cannot be listed is recorded in ``unreadable``, never skipped.
    """
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(_xml_files_below(path, unreadable))
            if not found and not unreadable:
                raise UsageError(f"{printable(path)}: no *.xml files in this directory")
            yield from found
        else:
            yield path


def _xml_files_below(top: str, unreadable: list[str]) -> Iterator[str]:
    """The ``*.xml`` entries below ``top``, links to folders not followed; any depth (a stack,
    not recursion, which ``os.walk`` uses before Python 3.12)."""
    folders = [top]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        is_folder = entry.is_dir()
                        linked = entry.is_symlink()
                    except OSError:
                        is_folder = linked = False
                    if is_folder and not linked:
                        folders.append(entry.path)
                    elif not is_folder and entry.name.endswith(".xml"):
                        yield entry.path
        except OSError as error:
            unreadable.append(str(_cannot(folder, "read", error)))


def _cmd_reference(args: argparse.Namespace) -> int:
    from gueststate import rng  # imported here: `validate` should not pay for it
    from gueststate.rng.nesting import room

    as_json = args.output == "json"
    output: Callable[[], str]
    try:
        os.close(xmlsafe.open_input(args.grammar))  # a FIFO or a link loop: say so first
        # The tree is as deep as the reader allows, and so are the walks that print it.
        with room():
            if args.by == "definition":
                from gueststate.rng.definitions import read_definitions

                found = read_definitions(args.grammar)
                output = functools.partial(_definitions_json if as_json else _definitions_text,
                                           found)
            else:
                start = rng.read_grammar(args.grammar).start
                # to_json: the text json.dumps(to_dict()) makes, each shared subtree written
                # once.
                output = start.to_json if as_json else functools.partial(_outline_text, start)
            text = output()
    except rng.GrammarError as error:
        print(error.problem, file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        raise _cannot(args.grammar, "read", error) from None
    except MemoryError:
        # The reader's bounds keep any grammar well within memory; a process allowed less
        # still ends with one line.  What was read is freed by now.
        raise UsageError(f"{printable(str(args.grammar))}: not enough memory to read the "
                         "grammar") from None
    sys.stdout.write(text + "\n" if as_json else text)
    return EXIT_OK


def _definitions_json(found: Definitions) -> str:
    """One string, compact: json.dumps encodes in C, json.dump (which streams) in pure Python,
    eight times slower on libvirt's domain grammar; indenting would be slower still."""
    return json.dumps(found.to_dict(), separators=(",", ":"))


def _outline_text(start: rng.Node) -> str:
    """The text outline by path; its modules are imported only for text output."""
    from gueststate.forms import form_names
    from gueststate.rng.outline import outline

    return outline(start, form_names)


def _definitions_text(found: Definitions) -> str:
    """The text outline by definition; its modules are imported only for text output."""
    from gueststate.forms import form_names
    from gueststate.rng.outline import definitions_outline

    return definitions_outline(found, form_names)


def _cmd_schemas(args: argparse.Namespace) -> int:
    for name in schemas.FORMATS:
        print(f"{name}\t{printable(str(schemas.schema_path(name)))}")
    return EXIT_OK


def report(problems: Sequence[Problem]) -> None:
    """Print problems on stderr, one line each."""
    for problem in problems:
        print(problem, file=sys.stderr)


# --- format and align: the model of the three formats (gueststate.formats) ---


def _add_model_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    fmt = commands.add_parser(
        "format", help="print a definition in libvirt's canonical form",
        description="Parse a definition as libvirt does (schema first) and print it the way "
        "libvirt writes it. Exit 1 with path:line:column: message when libvirt would refuse "
        "it, 2 when the file cannot be read or written.",
    )
    fmt.add_argument("file", metavar="FILE", type=Path, help="a backup, checkpoint or snapshot")
    fmt.add_argument("--in-place", action="store_true",
                     help="rewrite FILE atomically instead of printing; left untouched on error")
    fmt.add_argument("--no-validate", action="store_false", dest="validate",
                     help="skip the schema, as libvirt does for snapshots without VALIDATE")
    fmt.set_defaults(handler=_cmd_format)

    align = commands.add_parser(
        "align", help="complete a definition against a domain's disks",
        description="Complete a definition against the disks of a domain as libvirt does "
        "before it starts the job: every disk listed, modes decided, names generated. "
        "Exit 1 with the problem when libvirt would refuse it, 2 on I/O errors.",
    )
    align.add_argument("file", metavar="FILE", type=Path, help="a backup, checkpoint or snapshot")
    align.add_argument("--domain", required=True, type=Path, metavar="DOMAIN.xml",
                       help="the domain definition (virsh dumpxml)")
    align.add_argument("--suffix", metavar="S",
                       help="suffix of generated backup targets (default: the current time, "
                       "as libvirt does without a checkpoint)")
    align.add_argument("--no-validate", action="store_false", dest="validate",
                       help="skip the schema, as libvirt does for snapshots without VALIDATE")
    align.add_argument("--redefine", action="store_true",
                       help="snapshot: saved metadata given back to libvirt "
                       "(VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE): name, creation time, state "
                       "and a <domain> required; disks aligned against that <domain>")
    align.add_argument("--disk-only", action="store_true",
                       help="snapshot: disks only, every disk external by default, no memory "
                       "(VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)")
    align.add_argument("--libvirt-version", metavar="X.Y.Z",
                       help="word refusals as that libvirt release does where it differs from "
                       "11.3.0, whose behaviour the model follows")
    align.set_defaults(handler=_cmd_align)


def _read(path: Path) -> bytes:
    try:
        return xmlsafe.read_bounded(path)
    except OSError as error:
        raise _cannot(path, "read", error) from None


def _write_document(document: bytes) -> None:
    """Write an XML document (its UTF-8 bytes) to standard output, whatever the locale.

    The text layer would mangle it: its ``backslashreplace`` (there so that file names always
    print) turns "café" into "caf\\xe9" under ASCII, and Latin-1 would contradict a document
    that declares no encoding.  A stream of text alone (``main()`` called in a process that
    captures its output, as a doctest does) gets the text: it holds characters, not bytes.
    Errors go to :func:`main` (a closed pipe, a full disk; _ClosedOutput fails as it writes).
    """
    sys.stdout.flush()  # anything written as text goes first
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(document.decode("utf-8"))
        return
    stream.write(document)
    stream.flush()


def _cmd_format(args: argparse.Namespace) -> int:
    from gueststate import formats

    path: Path = args.file

    def formatted(data: bytes) -> bytes:
        model = formats.from_xml(data, str(path), validate=args.validate)
        return formats.to_xml(model).encode("utf-8")

    try:
        if not args.in_place:
            _write_document(formatted(_read(path)))
            return EXIT_OK
        from gueststate import inplace

        try:
            inplace.rewrite(path, formatted)
        except inplace.Interrupted as interrupted:
            return 128 + interrupted.signum
        except OSError as error:
            raise _cannot(path, "rewrite", error) from None
    except schemas.SchemaError:
        raise  # the tool's own schemas: a usage error, said by main
    except GueststateError as error:  # the model's refusal, or our writing past a limit
        report(error.problems)
        return EXIT_INVALID
    return EXIT_OK


def _cmd_align(args: argparse.Namespace) -> int:
    import time

    from gueststate import formats

    try:
        schemas.check_libvirt_version(args.libvirt_version)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        domain = formats.Domain.from_xml(_read(args.domain), str(args.domain))
        flags = {"redefine": args.redefine, "disk_only": args.disk_only}
        model = formats.from_xml(_read(args.file), str(args.file), validate=args.validate,
                                 **flags)
        now = int(time.time())
        suffix = args.suffix if args.suffix is not None else str(now)
        aligned = formats.align(model, domain, suffix=suffix, creation_time=now,
                                libvirt_version=args.libvirt_version, **flags)
    except schemas.SchemaError:
        raise  # the tool's own schemas: a usage error, said by main
    except GueststateError as error:  # the model's refusal, or our writing past a limit
        # A problem with no place in the file (the model's own) names the file all the same.
        report([Problem(str(args.file), p.line, p.column, p.message)
                if p.path == "<model>" else p for p in error.problems])
        return EXIT_INVALID
    _write_document(formats.to_xml(aligned).encode("utf-8"))
    return EXIT_OK
