"""The command line ``goodhart-diagnostics``: the tail report of a file of reward samples.

``goodhart-diagnostics rewards.npy --out report.png`` (or ``python -m goodhart.diagnostics``)
prints :func:`goodhart.diagnostics.summary` of the samples, or its numbers as JSON with
``--json``, and writes four panels modelled on the paper's Figures 1 and 2
(:func:`goodhart.diagnostics.report_figure`, on the book's convention: Hill estimates of the
centred samples, ``k`` up to ``n^0.5``) as a PNG image.

A file is read by what its first bytes say it is, not by its name: a ``.npy`` array, a ``.npz``
archive holding one array, or UTF-8 text (a byte-order mark is allowed) with one value a line,
where a ``.csv`` may name its column on the first line and text may carry ``#`` comments. Every
expected failure is one line on stderr (``error: ...``) and exit status 1, and then nothing is
written. The report is written to a temporary file and moved into place, with the permissions
a plain ``open(out, "w")`` would give; it never replaces the samples file, nor an existing file
that is not a PNG image.
"""

import argparse
import csv
import functools
import io
import json
import os
import re
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from goodhart import __version__

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"

_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)", re.IGNORECASE
)


# Reading samples.


def load_samples(path):
    """The samples in a file, as a 1-D float array, or a ValueError saying what is wrong.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file, a ``.npz`` archive with one array, a one-column CSV (optional header
        line) or text with one value a line (blank lines and ``#`` comments skipped).

    Returns
    -------
    ndarray
        float64, finite, at least one value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.csv").write_text("\\ufeffreward\\n1.5\\n2\\n", encoding="utf-8")
    >>> load_samples(folder / "r.csv")
    array([1.5, 2. ])
    >>> _ = (folder / "bad.txt").write_text("1\\nnan\\n")
    >>> load_samples(folder / "bad.txt")
    Traceback (most recent call last):
    ...
    ValueError: ...bad.txt: line 2: nan is NaN or infinite; the diagnostics need finite values
    """
    path = _file_name(path, "path")
    if path.is_dir():
        raise ValueError(f"{path}: is a directory, not a file of samples")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with open(path, "rb") as stream:
        head = stream.read(8)
    if head.startswith(NPY_MAGIC):
        return _from_array(path, _read_npy(path), "index")
    if head.startswith(ZIP_MAGIC):
        return _from_array(path, _read_npz(path), "index")
    if head.startswith(PNG_MAGIC):
        raise ValueError(f"{path}: is a PNG image, not a file of samples")
    return _read_text(path)


def _read_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f"{path}: not a readable .npy file ({_one_line(error)})") from None


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if len(names) != 1:
                listed = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                raise ValueError(
                    f"{path}: a .npz archive with {len(names)} arrays ({listed or 'none'}); "
                    "expected exactly one (save it with np.save)"
                )
            return archive[names[0]]
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path}: not a readable .npz archive ({_one_line(error)})") from None
    except ValueError as error:
        if str(error).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable .npz archive ({_one_line(error)})") from None


def _from_array(path, array, label):
    if array.dtype.names:
        raise ValueError(
            f"{path}: holds a structured array (fields {', '.join(array.dtype.names)}); "
            "save one field as a plain array"
        )
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(
            f"{path}: holds complex numbers; the diagnostics need real ones (take .real "
            "yourself if the imaginary parts are meant to be zero)"
        )
    if kind == "b":
        raise ValueError(f"{path}: holds booleans, not numbers")
    if kind not in "iuf":
        raise ValueError(f"{path}: holds {array.dtype} values, not real numbers")
    if array.ndim == 0:
        raise ValueError(f"{path}: holds a single number; expected a one-dimensional array")
    if sum(size > 1 for size in array.shape) > 1:
        raise ValueError(
            f"{path}: holds an array of shape {array.shape}; expected one dimension"
        )
    values = array.astype(float).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{path}: is empty (no values)")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(_non_finite(path, [f"{label} {i}" for i in bad], values[bad[0]]))
    return values


def _read_text(path):
    raw = path.read_bytes()
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(
            f"{path}: not a UTF-8 text file, nor a .npy or .npz array"
        ) from None
    if "\x00" in text:
        raise ValueError(f"{path}: not a text file (it holds NUL bytes)")
    is_csv = path.suffix.lower() == ".csv"
    entries = _csv_entries(path, text) if is_csv else _text_entries(path, text)
    values, bad, header = [], [], False
    for number, token in entries:
        if not _NUMBER.fullmatch(token):
            if is_csv and not values and not header:
                header = True  # a CSV may name its column on its first line
                continue
            raise ValueError(f"{path}: line {number}: {token[:40]!r} is not a number")
        value = float(token)
        if not np.isfinite(value):
            bad.append((number, token))
        values.append(value)
    if not values:
        raise ValueError(f"{path}: is empty (no values)")
    if bad:
        number, token = bad[0]
        if token.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ValueError(_non_finite(path, [f"line {n}" for n, _ in bad], token))
        raise ValueError(f"{path}: line {number}: {token} overflows a float (beyond 1.8e308)")
    return np.array(values)


def _text_entries(path, text):
    """(line number, token) for each value of a text file: one a line, ``#`` comments."""
    for number, line in enumerate(text.split("\n"), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        tokens = content.split()
        if len(tokens) > 1:
            raise ValueError(
                f"{path}: line {number} holds {len(tokens)} values; expected one a line"
            )
        yield number, tokens[0]


def _csv_entries(path, text):
    """(line number, field) for each row of a one-column CSV."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            fields = [field.strip() for field in row]
            if not any(fields):
                continue
            if len(fields) > 1:
                raise ValueError(
                    f"{path}: line {reader.line_num} has {len(fields)} columns; expected one"
                )
            yield reader.line_num, fields[0]
    except csv.Error as error:
        raise ValueError(f"{path}: line {reader.line_num}: {_one_line(error)}") from None


def _non_finite(path, where, first):
    message = f"{path}: {where[0]}: {first} is NaN or infinite; the diagnostics need finite values"
    if len(where) > 1:
        shown = ", ".join(where[:4]) + (", ..." if len(where) > 4 else "")
        message += f" ({len(where)} such values: {shown})"
    return message


def _one_line(error):
    return " ".join(str(error).split())


# Writing the report.


def _file_name(value, name):
    """``value`` as a Path, or a ValueError naming ``name`` (None, a number...)."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a file name, got {type(value).__name__}")
    return Path(value)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_path(out, samples_path):
    """Where the report will go, checked: ``out`` with symbolic links resolved.

    Refuses (ValueError) the samples file itself (also through a symbolic or hard link), an
    existing file that is not a PNG image (by its first bytes), a directory, a name not ending
    in ``.png``, a missing directory and a file that cannot be written.

    Parameters
    ----------
    out : str or path-like
    samples_path : str or path-like
        The samples file, which must never be overwritten.

    Returns
    -------
    pathlib.Path
    """
    out = _file_name(out, "out")
    samples_path = _file_name(samples_path, "samples_path")
    target = Path(os.path.realpath(out))
    if target.exists():
        if target.is_dir():
            raise ValueError(f"{out}: is a directory; give a file name ending in .png")
        if os.path.exists(samples_path) and os.path.samefile(target, samples_path):
            raise ValueError(f"{out}: is the samples file itself; refusing to overwrite it")
        try:
            with open(target, "rb") as stream:
                head = stream.read(len(PNG_MAGIC))
        except OSError as error:
            raise ValueError(f"{out}: cannot be read ({_one_line(error)})") from None
        if head != PNG_MAGIC:
            raise ValueError(f"{out}: exists and is not a PNG image; refusing to overwrite it")
        if not os.access(target, os.W_OK):
            raise ValueError(f"{out}: is not writable")
    if target.suffix.lower() != ".png":
        raise ValueError(f"{out}: the report is a PNG image; give a name ending in .png")
    if not target.parent.is_dir():
        raise ValueError(f"{out}: directory {out.parent} does not exist")
    return target


def write_png(figure, target):
    """Save ``figure`` as PNG at ``target`` atomically, with ``open(target, "w")``'s mode.

    A new file gets ``0o666`` less the umask; an existing one keeps its mode. The image goes
    to a temporary file in the same directory first, which replaces ``target`` only once it is
    complete; on any failure nothing is left behind.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    target : pathlib.Path
        As returned by :func:`output_path`.
    """
    if not callable(getattr(figure, "savefig", None)):
        raise ValueError(f"figure must be a matplotlib Figure, got {type(figure).__name__}")
    target = _file_name(target, "target")
    if target.is_dir():
        raise ValueError(f"target {str(target)!r} is a directory; give a file name")
    if not target.parent.is_dir():
        raise ValueError(f"target {str(target)!r}: its directory does not exist")
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        mode = 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as stream:
            figure.savefig(stream, format="png", dpi=120)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


# The command.


_EPILOG = """\
input: a .npy array, a .npz archive with one array, a one-column .csv
(optional header line) or text with one value a line; at least {minimum}
finite values.

examples:
  {prog} rewards.npy
  {prog} rewards.csv --out report.png --title 'Starling RM'
  {prog} rewards.txt --json

exit status: 0 on success; 1 with a one-line message on stderr otherwise
(then nothing is written)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 1.

    The statistics (and scipy) are imported only once a file has been read, or for --help,
    so that a bad file is refused quickly.
    """

    def error(self, message):
        self.exit(1, f"error: {message} (see {self.prog} --help)\n")

    def format_help(self):
        from goodhart.diagnostics import MIN_SAMPLES

        self.epilog = _EPILOG.format(minimum=MIN_SAMPLES, prog=self.prog)
        return super().format_help()


def _parser(prog):
    parser = _Parser(
        prog=prog,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Tail diagnostics for a file of reward samples: four panels like the paper's\n"
            "(histogram, normal and exponential probability plots, Hill estimates)\n"
            "and a summary of what they do and do not support."
        ),
    )
    parser.add_argument("samples", help="the file of reward samples")
    parser.add_argument(
        "--out",
        metavar="REPORT.png",
        help="write the four-panel report there (never over the samples file or over an "
        "existing file that is not a PNG image)",
    )
    parser.add_argument("--title", help="title of the report figure")
    parser.add_argument(
        "--json", action="store_true", help="print the summary's numbers as JSON instead"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def report_dict(report):
    """The numbers of a :class:`~goodhart.diagnostics.TailReport` as plain JSON types.

    Parameters
    ----------
    report : TailReport

    Returns
    -------
    dict
    """
    from goodhart.diagnostics import TailReport

    if not isinstance(report, TailReport):
        raise ValueError(f"report must be a TailReport, got {type(report).__name__}")

    def test(t):
        return {
            "ratio": t.ratio,
            "inner": t.inner,
            "outer": t.outer,
            "p_below": t.p_below,
            "p_above": t.p_above,
            "p_two_sided": t.p_two_sided,
        }

    return {
        "n": report.n,
        "mean": report.mean,
        "sd": report.sd,
        "above_mean": report.above_mean,
        "k_range": list(report.k_range),
        "hill": {
            "k": [int(v) for v in report.hill.k],
            "gamma": [float(v) for v in report.hill.gamma],
            "se": [float(v) for v in report.hill.se],
        },
        "hill_trend": test(report.trend),
        "exponential_bend": test(report.bend),
        "hill_reading": report.hill_reading,
        "bend_reading": report.bend_reading,
        "ties": report.ties,
    }


def quiet_when_the_reader_leaves(main):
    """``main``, a command's, except that a reader who closes the pipe early (``| head``) ends
    it with status 1 and no traceback, neither at the write nor at exit."""

    @functools.wraps(main)
    def command(*args, **kwargs):
        try:
            status = main(*args, **kwargs)
            sys.stdout.flush()
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        return status

    return command


@quiet_when_the_reader_leaves
def main(argv=None, *, prog="goodhart-diagnostics"):
    """Print the tail summary of a samples file and write its four-panel report.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).
    prog : str
        The name shown in messages.

    Returns
    -------
    int
        The exit status: 0, or 1 after a one-line message on stderr.
    """
    args = _parser(prog).parse_args(argv)
    try:
        samples = load_samples(args.samples)
        target = output_path(args.out, args.samples) if args.out else None
        from goodhart import diagnostics

        try:
            report = diagnostics.tail_report(samples)
        except ValueError as error:
            message = str(error).removeprefix("samples: ")
            raise ValueError(f"{args.samples}: {message}") from None
        if target is not None:
            write_png(diagnostics.report_figure(samples, args.title), target)
    except (ValueError, OSError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    if args.json:
        numbers = report_dict(report)
        numbers["samples"] = str(args.samples)
        numbers["out"] = None if target is None else str(args.out)
        text = json.dumps(numbers, indent=2)
    else:
        text = report.text() + ("" if target is None else f"\nwrote {args.out}")
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
