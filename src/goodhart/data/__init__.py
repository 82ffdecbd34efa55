"""The reward scores the paper's authors published, shipped with the package, checksummed.

Three files copied unchanged from the authors' repository (``tkwa/catastrophic-goodhart`` on
GitHub, commit ``7069bb86b73df48fae18b729e610bae850210bc9``); ``PROVENANCE.md`` beside them
says where each comes from. They live inside the package, so :func:`load` finds them the same
way from a clone installed in editable mode, from a wheel and on Binder, whatever the working
directory. Every load checks the file's SHA-256 against the value recorded here.

- ``"random_starling"``: Starling-RM-7B-alpha rewards of 30000 sequences of 1024 uniformly
  random tokens (paper Figure 1), float32 as the model produced them.
- ``"llama_starling"``: Starling-RM-7B-alpha rewards of 16000 sequences sampled from Llama 2
  7B-chat (paper Figure 2), float64.
- ``"acg_rewards"``: the reward of each of the 40 inputs optimized by ACG (paper section 4,
  Figure B.2), with its run index.
"""

import hashlib
import io
import pathlib
from dataclasses import dataclass
from importlib import resources

import numpy as np

from goodhart import _checks

SOURCE = "https://github.com/tkwa/catastrophic-goodhart"
COMMIT = "7069bb86b73df48fae18b729e610bae850210bc9"


@dataclass(frozen=True)
class Dataset:
    """What one shipped file is.

    Attributes
    ----------
    name : str
        The key for :func:`load`.
    file : str
        The file's name in this package.
    source : str
        Its path in the authors' repository at ``COMMIT``.
    sha256 : str
        Hex digest of the file's bytes, checked on every load.
    n : int
        Number of values (rows).
    description : str
    """

    name: str
    file: str
    source: str
    sha256: str
    n: int
    description: str


DATASETS = {
    "random_starling": Dataset(
        "random_starling",
        "random_starling_reward_values.npy",
        "random_starling_reward_values.npy",
        "9a4f047091c333c5d8a9cfe1ad133213865d10fed76bf6c35f38c390d5e0a1a4",
        30000,
        "Starling-RM-7B-alpha rewards of 30000 random length-1024 token sequences (Figure 1)",
    ),
    "llama_starling": Dataset(
        "llama_starling",
        "llama_starling_reward_values.npy",
        "llama_starling_reward_values.npy",
        "2803239bd0c455d1737717ada7f575b80bb2dfcb98d9f6605fae68cd22fa894d",
        16000,
        "Starling-RM-7B-alpha rewards of 16000 sequences sampled from Llama 2 7B-chat "
        "(Figure 2)",
    ),
    "acg_rewards": Dataset(
        "acg_rewards",
        "acg_rewards.tsv",
        "data/rewards_0.txt ... data/rewards_39.txt",
        "386b1bc62deb2f9fd039d2a3d413cb92ac31ebc729d1e4380c35f41b572034b9",
        40,
        "run index and Starling-RM-7B-alpha reward of the 40 ACG-optimized inputs "
        "(section 4, Figure B.2)",
    ),
}


@dataclass(frozen=True)
class AcgRewards:
    """The rewards of the 40 ACG-optimized inputs, one entry a run.

    Attributes
    ----------
    run : ndarray of int
        The run index ``i`` of the authors' ``data/rewards_i.txt``.
    reward : ndarray of float
        The reward Starling-RM-7B-alpha gave that run's optimized input.
    """

    run: np.ndarray
    reward: np.ndarray


def names():
    """The names :func:`load` accepts.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> names()
    ('random_starling', 'llama_starling', 'acg_rewards')
    """
    return tuple(DATASETS)


def _dataset(name):
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name must be one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[name]


def _root():
    """The folder of the shipped files (inside the installed package)."""
    return resources.files(__name__)


def _verified_bytes(dataset):
    resource = _root() / dataset.file
    try:
        content = resource.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{dataset.file}: not installed with goodhart (expected in {resource})"
        ) from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != dataset.sha256:
        raise ValueError(
            f"{dataset.file}: SHA-256 {digest[:16]}... differs from the recorded "
            f"{dataset.sha256[:16]}...; the file is corrupted or was changed"
        )
    return content


def load(name):
    """The shipped data set ``name``, its checksum verified.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    ndarray or AcgRewards
        A fresh 1-D array of rewards for ``"random_starling"`` (float32) and
        ``"llama_starling"`` (float64); :class:`AcgRewards` for ``"acg_rewards"``.

    Raises
    ------
    ValueError
        For an unknown name, or a file whose SHA-256 differs from the recorded one.

    Examples
    --------
    >>> x = load("random_starling")
    >>> x.shape, x.dtype
    ((30000,), dtype('float32'))
    >>> acg = load("acg_rewards")
    >>> int(acg.run[acg.reward.argmax()]), round(float(acg.reward.max()), 4)
    (28, 8.3729)
    """
    dataset = _dataset(name)
    content = _verified_bytes(dataset)
    if dataset.file.endswith(".npy"):
        values = np.load(io.BytesIO(content), allow_pickle=False)
        if values.shape != (dataset.n,):
            raise ValueError(f"{dataset.file}: shape {values.shape}, expected ({dataset.n},)")
        return values
    rows = [line.split("\t") for line in content.decode("ascii").splitlines()]
    run = np.array([int(row[0]) for row in rows])
    reward = np.array([float(row[1]) for row in rows])
    return AcgRewards(run, reward)


def path(name):
    """Where the shipped file of ``name`` lies on disk, its checksum verified first.

    For tools that read files rather than arrays, such as the command line
    ``goodhart-diagnostics``.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an unknown name, or a file whose SHA-256 differs from the recorded one.
    FileNotFoundError
        If the package is installed in a form that keeps its files off the file system (a
        zip archive): use :func:`load` then.

    Examples
    --------
    >>> path("random_starling").name
    'random_starling_reward_values.npy'
    """
    dataset = _dataset(name)
    _verified_bytes(dataset)
    resource = _root() / dataset.file
    where = pathlib.Path(str(resource))
    if not where.is_file():
        raise FileNotFoundError(f"{dataset.file}: not on the file system (use load({name!r}))")
    return where


def provenance():
    """The text of ``PROVENANCE.md``: where each file comes from and how it was checked.

    Returns
    -------
    str

    Examples
    --------
    >>> provenance().splitlines()[0]
    '# Provenance of the shipped reward data'
    """
    return (_root() / "PROVENANCE.md").read_text(encoding="utf-8")


def acg_edits(step):
    """The number of token edits at ACG step ``step``, annealed as in the authors' script.

    ``starling7bexperiment.py`` passes ``n_edits_fn(step) = int((100000 / (step + 1)) ** 0.3)
    // 4 + 2`` to its ACG run: 9 edits at the first step, 2 at the last of its 1000 (the
    paper's Table 1 gives the same ends).

    Parameters
    ----------
    step : int or array_like of int
        Steps, counted from 0.

    Returns
    -------
    int or numpy.ndarray of int
        The number of edits at each step.

    Raises
    ------
    ValueError
        If ``step`` is not a whole number ``>= 0``.

    Examples
    --------
    >>> acg_edits(0), acg_edits(999)
    (9, 2)
    >>> acg_edits([0, 9, 99]).tolist()
    [9, 5, 3]
    """
    steps = _checks.whole(step, "step", low=0)
    edits = np.floor((100000 / (steps + 1)) ** 0.3).astype(int) // 4 + 2
    return int(edits) if np.ndim(step) == 0 else edits
