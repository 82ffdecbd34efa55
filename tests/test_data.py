"""Tests of goodhart.data: the authors' files, byte for byte, and what the book reads off them.

The digests and the first and last values below were taken from the files in the authors'
repository (tkwa/catastrophic-goodhart at 7069bb86b73df48fae18b729e610bae850210bc9) and are
written here independently of the package's own table.
"""

import hashlib
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodhart import data
from goodhart import diagnostics as d

DIGESTS = {
    "random_starling_reward_values.npy":
        "9a4f047091c333c5d8a9cfe1ad133213865d10fed76bf6c35f38c390d5e0a1a4",
    "llama_starling_reward_values.npy":
        "2803239bd0c455d1737717ada7f575b80bb2dfcb98d9f6605fae68cd22fa894d",
    "acg_rewards.tsv": "386b1bc62deb2f9fd039d2a3d413cb92ac31ebc729d1e4380c35f41b572034b9",
}


def test_names():
    assert data.names() == ("random_starling", "llama_starling", "acg_rewards")
    assert {data.DATASETS[name].file for name in data.names()} == set(DIGESTS)


@pytest.mark.parametrize("file", sorted(DIGESTS))
def test_shipped_files_are_the_authors(file):
    content = (data._root() / file).read_bytes()
    assert hashlib.sha256(content).hexdigest() == DIGESTS[file]


def test_random_starling():
    x = data.load("random_starling")
    assert x.shape == (30000,) and x.dtype == np.float32
    assert x[0] == np.float32(-2.5643032) and x[-1] == np.float32(-2.4973035)
    x[0] = 0.0  # a fresh array each time: changing one does not change the next
    assert data.load("random_starling")[0] == np.float32(-2.5643032)


def test_llama_starling():
    x = data.load("llama_starling")
    assert x.shape == (16000,) and x.dtype == np.float64
    assert x[0] == 0.10243690013885498 and x[-1] == 1.5204839706420898
    assert np.array_equal(x.astype(np.float32).astype(np.float64), x)  # float32 outputs


def test_acg_rewards():
    acg = data.load("acg_rewards")
    assert acg.run.dtype.kind == "i" and acg.reward.dtype == np.float64
    assert np.array_equal(acg.run, np.arange(40))
    assert acg.reward[0] == 4.48458194732666 and acg.reward[-1] == 2.8156113624572754
    # The paper's 2.2377 is the lowest reward (run 24), not the highest (8.3729, run 28).
    assert acg.run[acg.reward.argmin()] == 24 and acg.reward.min() == 2.2377231121063232
    assert acg.run[acg.reward.argmax()] == 28 and acg.reward.max() == 8.372880935668945
    with pytest.raises(AttributeError):
        acg.run = None  # frozen


def test_load_refuses_a_corrupted_file(tmp_path, monkeypatch):
    for file in DIGESTS:
        shutil.copy(data._root() / file, tmp_path / file)
    content = bytearray((tmp_path / "llama_starling_reward_values.npy").read_bytes())
    content[-1] ^= 1  # one bit of the last value
    (tmp_path / "llama_starling_reward_values.npy").write_bytes(bytes(content))
    monkeypatch.setattr(data, "_root", lambda: tmp_path)
    assert data.load("random_starling").shape == (30000,)
    with pytest.raises(ValueError, match="llama_starling_reward_values.npy: SHA-256"):
        data.load("llama_starling")
    (tmp_path / "acg_rewards.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="acg_rewards.tsv: not installed"):
        data.load("acg_rewards")


@settings(deadline=None, max_examples=30)
@given(st.one_of(st.text(max_size=20), st.integers(), st.none()))
def test_load_refuses_unknown_names(name):
    if name in data.names():
        return
    with pytest.raises(ValueError, match="name must be one of"):
        data.load(name)


def test_provenance_note():
    text = data.provenance()
    assert data.COMMIT in text and "tkwa/catastrophic-goodhart" in text
    for file, digest in DIGESTS.items():
        assert file in text and digest in text
    assert "shared" not in text


def test_path_is_the_verified_file(tmp_path, monkeypatch):
    for name in data.names():
        where = data.path(name)
        assert where.is_absolute() and where.name == data.DATASETS[name].file
        assert hashlib.sha256(where.read_bytes()).hexdigest() == DIGESTS[where.name]
    assert np.array_equal(np.load(data.path("llama_starling")), data.load("llama_starling"))
    shutil.copy(data._root() / "acg_rewards.tsv", tmp_path / "acg_rewards.tsv")
    with open(tmp_path / "acg_rewards.tsv", "a") as stream:
        stream.write("40\t1.0\n")
    monkeypatch.setattr(data, "_root", lambda: tmp_path)
    with pytest.raises(ValueError, match="acg_rewards.tsv: SHA-256"):
        data.path("acg_rewards")
    with pytest.raises(ValueError, match="name must be one of"):
        data.path("pythia")


def test_found_from_any_working_directory(tmp_path):
    code = "from goodhart import data; print(data.load('acg_rewards').reward.size)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == "40\n", result.stderr


# What the book reads off the data: the authors' own computations, reproduced.


def test_hill_reproduces_the_authors_figure_1_curve():
    """plots_random_starling.py: centred (in float32, as the authors' array was), k = 2..172."""
    values = data.load("random_starling")
    sorted_data = np.sort(values)[::-1]
    sorted_data -= np.mean(sorted_data)
    sorted_data = sorted_data[sorted_data > 0]
    k_values = np.arange(int(30000**0.1), int(30000**0.5))
    expected = np.array([np.mean(np.log(sorted_data[:k]) - np.log(sorted_data[k]))
                         for k in k_values])
    h = d.hill_estimator(values, d.hill_k_range(30000, authors=True))
    assert np.allclose(h.gamma, expected, rtol=2e-6, atol=0)  # float32 centring vs float64
    assert round(float(expected[-1]), 3) == 0.201  # the paper: "appears to be 0.20"


def test_hill_reproduces_the_authors_figure_2_curve():
    """plots_from-llama_starling.py: not centred, k = 2..332 (n^0.6)."""
    values = data.load("llama_starling")
    sorted_data = np.sort(values)[::-1]
    k_values = np.arange(int(16000**0.1), int(16000**0.6))
    expected = [np.mean(np.log(sorted_data[:k]) - np.log(sorted_data[k])) for k in k_values]
    h = d.hill_estimator(values, d.hill_k_range(16000, high=0.6, authors=True), centred=False)
    assert np.allclose(h.gamma, expected, rtol=1e-12, atol=0)


def test_the_papers_gain_uses_the_lowest_acg_reward_and_a_negative_base_mean():
    """plots_acg.py: sorted(zip(rewards, probs))[0] is the lowest reward of runs 0..38."""
    acg = data.load("acg_rewards")
    chosen = sorted(zip(acg.reward[:39], acg.run[:39], strict=True))[0]
    assert chosen == (2.2377231121063232, 24)
    base = math.fsum(data.load("llama_starling")) / 16000
    assert round(base, 4) == -0.3330
    assert round(0.01 * (chosen[0] - base), 5) == 0.02571


# --- the ACG annealing schedule ------------------------------------------------------------

def exact_edits(step):
    """floor((1e5 / (step + 1)) ** 0.3) // 4 + 2 in integers: the floor is the largest m with
    m ** 10 * (step + 1) ** 3 <= 10 ** 15."""
    m = 0
    while (m + 1) ** 10 * (step + 1) ** 3 <= 10**15:
        m += 1
    return m // 4 + 2


def test_acg_edits_match_integer_arithmetic_over_the_authors_run():
    steps = np.arange(1000)
    assert data.acg_edits(steps).tolist() == [exact_edits(int(s)) for s in steps]
    assert (data.acg_edits(0), data.acg_edits(999)) == (9, 2)  # the paper's Table 1
    assert isinstance(data.acg_edits(5), int)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=10**7))
def test_acg_edits_any_step(step):
    assert data.acg_edits(step) == exact_edits(step)
    assert data.acg_edits(float(step)) == exact_edits(step)


@pytest.mark.parametrize("bad", [-1, 0.5, np.nan, np.inf, "3", None, [0, -2]])
def test_acg_edits_refuse_what_is_not_a_step(bad):
    with pytest.raises(ValueError, match="step"):
        data.acg_edits(bad)
