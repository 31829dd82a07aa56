"""The ``gueststate`` command: a thin shell over the library.

Exit status: 0 when all is well, 1 when a document is invalid or malformed, 2 on usage or I/O
errors.  Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from gueststate import __version__, schemas, xmlsafe
from gueststate.problems import Problem

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or an unreadable path: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also rendered on the site by sphinx-argparse)."""
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except (UsageError, schemas.SchemaError) as error:
        print(f"gueststate: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`gueststate reference ... | head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    return status


def _cmd_validate(args: argparse.Namespace) -> int:
    libvirt_schemas: Path | None = args.libvirt_schemas
    if libvirt_schemas is not None and not (libvirt_schemas / "domain.rng").is_file():
        raise UsageError(f"{libvirt_schemas}: no domain.rng there (not a libvirt schema dir)")
    version: str | None = args.libvirt_version
    try:
        schemas.check_libvirt_version(version)
    except ValueError as error:
        raise UsageError(str(error)) from None
    results: list[schemas.ValidationResult] = []
    unreadable: list[str] = []
    for path in _expand(args.paths):
        try:
            if path == "-":
                data = sys.stdin.buffer.read(xmlsafe.MAX_DOCUMENT_BYTES + 1)
                result = schemas.validate_bytes(
                    data, "<stdin>", args.schema, libvirt_schemas, libvirt_version=version
                )
            else:
                result = schemas.validate_file(
                    path, args.schema, libvirt_schemas, libvirt_version=version
                )
        except OSError as error:
            unreadable.append(f"{path}: cannot read: {error.strerror or error}")
            continue
        results.append(result)
    if args.output == "json":
        print(json.dumps({"files": [result.as_dict() for result in results]}, indent=2))
    else:
        for result in results:
            for problem in result.problems:
                print(problem)
    for message in unreadable:
        print(f"gueststate: {message}", file=sys.stderr)
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(result.valid for result in results) else EXIT_INVALID


def _expand(paths: Sequence[str]) -> Iterator[str]:
    """Each path as given; a directory becomes the ``*.xml`` files below it, sorted."""
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found = sorted(
                os.path.join(folder, name)
                for folder, _, names in os.walk(path)
                for name in names
                if name.endswith(".xml")
            )
            if not found:
                raise UsageError(f"{path}: no *.xml files in this directory")
            yield from found
        else:
            yield path


def _cmd_reference(args: argparse.Namespace) -> int:
    from gueststate import rng  # imported here: `validate` should not pay for it
    from gueststate.rng.outline import outline

    try:
        model = rng.read_grammar(args.grammar)
    except rng.GrammarError as error:
        print(error.problem, file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        raise UsageError(f"{args.grammar}: cannot read: {error.strerror or error}") from None
    if args.output == "json":
        print(json.dumps(model.start.to_dict(), indent=2))
    else:
        sys.stdout.write(outline(model.start))
    return EXIT_OK


def _cmd_schemas(args: argparse.Namespace) -> int:
    for name in schemas.FORMATS:
        print(f"{name}\t{schemas.schema_path(name)}")
    return EXIT_OK


def report(problems: Sequence[Problem]) -> None:
    """Print problems on stderr, one line each."""
    for problem in problems:
        print(problem, file=sys.stderr)


# --- format and align: the model of the three formats (gueststate.formats) ---


def _add_model_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    align.set_defaults(handler=_cmd_align)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror or error}") from None


def _cmd_format(args: argparse.Namespace) -> int:
    from gueststate import formats

    path: Path = args.file
    try:
        text = formats.to_xml(formats.from_xml(_read(path), str(path), validate=args.validate))
    except formats.FormatError as error:
        report(error.problems)
        return EXIT_INVALID
    if not args.in_place:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        _replace_atomically(path, text.encode("utf-8"))
    except OSError as error:
        raise UsageError(f"{path}: cannot write: {error.strerror or error}") from None
    return EXIT_OK


def _replace_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file next to ``path``, then rename it over ``path``."""
    import tempfile

    path = path.resolve()  # rewrite a symlink's target, not the link
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _cmd_align(args: argparse.Namespace) -> int:
    import time

    from gueststate import formats

    try:
        domain = formats.Domain.from_xml(_read(args.domain), str(args.domain))
        model = formats.from_xml(_read(args.file), str(args.file), validate=args.validate)
        suffix = args.suffix if args.suffix is not None else str(int(time.time()))
        aligned = formats.align(model, domain, suffix=suffix)
    except formats.FormatError as error:
        # Alignment problems concern the definition as a whole: name its file.
        report([Problem(str(args.file), p.line, p.column, p.message)
                if p.path == "<model>" else p for p in error.problems])
        return EXIT_INVALID
    sys.stdout.write(formats.to_xml(aligned))
    return EXIT_OK
