"""What the book found: the status of every result of the paper, read from the chapters.

Each chapter ends with a cell of checks that *glues* (``myst_nb.glue``) a status word for each
scorecard row it covers, ``glue("thm1-status", Markdown("extends"), display=False)``, and its
key numbers as floats, ``glue("thm1-kl", 5.4e-11, display=False)``. The glued values are
stored in the committed notebook, as display outputs whose metadata names the key
(``metadata.scrapbook.name``). This module reads them back, so that the scorecard, its counts
and the map of results are computed from what the chapters assert, not typed:

* ``ROWS`` declares the rows (a :class:`Row` each): the paper's (or post's) item, its words,
  the chapter that covers it, its key number, which other rows it uses, and the errata entry
  of a correction;
* :func:`read_glue` reads the glued values of one notebook;
* :func:`collect` gathers every row's status and numbers into a :class:`Scorecard` (a row
  whose chapter has not glued its status yet is ``"pending"``);
* :func:`draw_map` draws the results as a graph coloured by status, arrows for "uses";
* :func:`glue_references` and :func:`missing_references` find the ``{glue:text}`` references
  of a Markdown page and the ones no notebook provides yet.

The statuses form one vocabulary (:data:`STATUSES`): *reproduced* (the computation agrees with
the statement as given), *extends* (it agrees, and the book goes beyond the source's range or
adds a rate, a constant or an exact value), *corrects* (the source is wrong; an errata entry),
*analogue* (a stand-in for an experiment that cannot be run here) and *not reproduced*.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import numpy as np

#: The five statuses a chapter may glue, in the order the scorecard counts them.
STATUSES = ("reproduced", "extends", "corrects", "analogue", "not reproduced")
#: The status of a row whose chapter has not glued one yet.
PENDING = "pending"


@dataclass(frozen=True)
class Style:
    """How a status is shown: word, icon, colours, hatch and the site's badge role.

    Attributes
    ----------
    word : str
        The status word.
    icon : str
        A one-character symbol, the cue that survives greyscale and the PDF.
    color : str
        Fill colour of its node in the map (Okabe-Ito, readable under colour-vision
        deficiencies).
    hatch : str
        Matplotlib hatch of its node, the second cue in the map.
    badge : str
        The sphinx-design badge role of the site (``bdg-success`` ...).
    """

    word: str
    icon: str
    color: str
    hatch: str
    badge: str

    def markdown(self) -> str:
        """The status as a MyST badge: icon and word on the badge's colour.

        Examples
        --------
        >>> STYLES["reproduced"].markdown()
        '{bdg-success}`✓ reproduced`'
        """
        return f"{{{self.badge}}}`{self.icon} {self.word}`"

    def text(self) -> str:
        """The status as plain text, icon and word.

        Examples
        --------
        >>> STYLES["corrects"].text()
        '✎ corrects'
        """
        return f"{self.icon} {self.word}"


#: The presentation of each status (and of ``"pending"``).
STYLES = {
    "reproduced": Style("reproduced", "✓", "#009E73", "", "bdg-success"),
    "extends": Style("extends", "+", "#0072B2", "//", "bdg-primary"),
    "corrects": Style("corrects", "✎", "#D55E00", "xx", "bdg-danger"),
    "analogue": Style("analogue", "≈", "#E69F00", "..", "bdg-warning"),
    "not reproduced": Style("not reproduced", "✗", "#999999", "--", "bdg-muted"),
    PENDING: Style(PENDING, "…", "#FFFFFF", "", "bdg-light"),
}

#: The parts of the scorecard, in order, with their headings.
PARTS = {
    "theorems": "Theorems, corollary and lemmas",
    "details": "Definitions, figures of the proofs, footnotes and the post",
    "experiments": "Experiments",
    "discussion": "Discussion",
}

#: The chapters (notebooks in ``book/``) that cover the rows.
CHAPTERS = (
    "tails", "theorem1", "theorem2", "theorem3", "corollary", "theorem4", "theorem5",
    "theorem6", "without_independence", "best_of_n", "diagnostics", "reward_models",
    "policy_gradient", "remedies",
)


@dataclass(frozen=True)
class Row:
    """One row of the scorecard: a result or claim of the source, and where the book checks it.

    Attributes
    ----------
    id : str
        The row's key prefix: the chapter glues ``<id>-status`` and ``<id>-<name>``.
    name : str
        Its name in the source's final numbering ("Theorem 5", "Figure B.3").
    short : str
        Its label in the map ("Thm 5"), or "" if it is not drawn there.
    claim : str
        What the source claims, in a few words (MyST Markdown).
    source : str
        Where: section, ``main.tex`` line, PDF page (or the post).
    quote : str
        The source's own words (MyST Markdown; formulas in dollars).
    chapter : str
        The chapter (notebook in ``book/``, without ``.ipynb``) that covers it.
    part : str
        The part of the scorecard (a key of :data:`PARTS`).
    key : str or None
        The glued key of its key number (``"thm1-kl"``), or None.
    key_label : str
        What the key number is (MyST Markdown).
    uses : tuple of str
        The rows it uses (arrows of the map).
    erratum : str or None
        The label of the errata entry that concerns it, if any.
    note : str
        A fact about what can be run here, shown with the details ("" if none).
    """

    id: str
    name: str
    short: str
    claim: str
    source: str
    quote: str
    chapter: str
    part: str
    key: str | None = None
    key_label: str = ""
    uses: tuple[str, ...] = ()
    erratum: str | None = None
    note: str = ""


def _row(id, name, short, claim, source, quote, chapter, part, key=None, key_label="",
         uses=(), erratum=None, note=""):
    return Row(id, name, short, claim, source, quote, chapter, part, key, key_label,
               tuple(uses), erratum, note)


# Every row of the scorecard, in the order of the scorecard's parts (a plain comment: the API
# page would print the whole tuple, the paper's formulas as raw TeX).
ROWS = (
    # --- Theorems, corollary, lemmas ---------------------------------------------------------
    _row("thm1", "Theorem 1", "Thm 1",
         "a heavy-tailed $Q$ admits a mean above any $M$ at a KL below any $\\varepsilon$",
         "§3.1, main.tex l.165–171, PDF p.3",
         "there is a distribution $P$ with mean $\\mu_P>M$ and $D_{KL}(P \\| Q) < \\epsilon$",
         "theorem1", "theorems", "thm1-kl",
         "KL of $P_t$ at $t = 10^{12}$, Student-t (3), tail mass $1/t$ (nats)",
         uses=("defs",), erratum="errata-theorem-1-proof"),
    _row("thm2", "Theorem 2", "Thm 2",
         "a light-tailed $Q$: a bounded KL bounds the mean, which tends to $\\mu_Q$ as the KL "
         "vanishes",
         "§3.1, main.tex l.177–181, PDF p.3",
         "if the distribution $Q$ is light-tailed and $d = D_{KL}(P \\| Q)$ is bounded, then "
         "$\\mu_P$ is bounded, and $\\mu_P - \\mu_Q \\to 0$ as $d \\to 0$",
         "theorem2", "theorems", "thm2-exponential-frontier",
         "largest mean at KL at most 1 nat, exponential $Q$ of rate 1 shifted to mean 0",
         uses=("defs",), erratum="errata-theorem-2-proof"),
    _row("thm3", "Theorem 3", "Thm 3",
         "the construction of Theorem 1 for policies in a deterministic MDP with Markovian "
         "returns",
         "§3.2, main.tex l.216–229, PDF p.4",
         "there is a policy $\\pi$ with mean return … $> M$ and "
         "$\\mathbb E_{s \\in T, T\\sim Tr(\\pi)}[\\dots]$ $< \\epsilon$",
         "theorem3", "theorems", "thm3-kl",
         "KL of the read-off policy, summed along its trajectories (nats)",
         uses=("thm1", "policy-kl"), erratum="errata-references"),
    _row("cor1", "Corollary 1", "Cor 1",
         "heavy-tailed error, light-tailed utility: reward to infinity at vanishing KL, "
         "utility no higher than the base policy's",
         "§3.2, main.tex l.232–236, PDF p.4",
         "the reward $\\mathbb E[U(\\pi)]$ can go to infinity while utility "
         "$\\mathbb E[V(\\pi)]$ approaches a value no higher than the base policy",
         "corollary", "theorems", "cor1-utility",
         "utility $\\E[V]$ of the policy whose proxy reward grows (base policy: 0)",
         uses=("thm2", "thm3")),
    _row("thm4", "Theorem 4", "Thm 4",
         "light-tailed error and utility: the KL-penalized optimum's utility tends to "
         "infinity as $\\beta \\to 0$",
         "§3.3, main.tex l.242–247, PDF p.4; proof App. A.4, l.599–622, p.13",
         "If $U=X+V$ with $X$ and $V$ both light-tailed and $V$ unbounded, and the "
         "distribution of U is continuous, … then "
         "$\\lim_{\\beta \\to 0^+} \\mathbb E[V(\\pi^*(\\beta))]$ $= \\infty$",
         "theorem4", "theorems", "thm4-normal-utility",
         "utility of the optimum at the smallest $\\beta$ computed, normal error and utility",
         uses=("defs",), erratum="errata-theorem-4"),
    _row("thm5", "Theorem 5", "Thm 5",
         "conditioning on $X + V \\ge t$ with subexponential error: utility returns to "
         "$\\E[V]$",
         "§3.4.1, main.tex l.254–262, PDF p.4–5; proof App. A.5",
         "Then $\\lim_{t \\to \\infty} \\mathbb E[V | X + V \\ge t]$ $=\\mathbb{E}[V]$",
         "theorem5", "theorems", "thm5-t3",
         "$\\E[V \\mid U \\ge t]$ at $t = 10^6$, Student-t (3) error, standard normal $V$ (mean 0)",
         uses=("lem1", "lem2"), erratum="errata-theorem-5-denominator"),
    _row("lem1", "Lemma 1", "Lem 1",
         "a cut $h(t) \\to \\infty$ so slow that the tail of $X$ does not notice it",
         "App. A.5.3, theorem5.tex l.112–124, PDF p.15",
         "There is $h(t)$ depending on $F_X$ such that … "
         "$\\lim_{t\\to\\infty}\\frac{\\bar F_X(t-h(t))}{\\bar F_X(t)}$ $=1$",
         "theorem5", "theorems", "lem1-ratio",
         "$\\Fbar_X(t - \\log t)/\\Fbar_X(t)$ at $t = 10^{12}$, Student-t (3) error (tends to 1)"),
    _row("lem2", "Lemma 2", "Lem 2",
         "both $X$ and $V$ above the cut is negligible: $o(\\Fbar_X(t)/t)$",
         "App. A.5.3, theorem5.tex l.126–153, PDF p.15–16",
         "Then $Pr[X+V>t,\\ V>h(t),\\ X > h(t)]$ $= o(\\bar F_X(t)/t)$",
         "theorem5", "theorems", "lem2-ratio",
         "$t\\,\\P(\\dots)/\\Fbar_X(t)$ at $t = 10^{12}$, $h = \\log t$ (the lemma: tends to 0)",
         uses=("lem1",), erratum="errata-lemma-2"),
    _row("thm6", "Theorem 6", "Thm 6",
         "conditioning with $\\Fbar_X(t+1)/\\Fbar_X(t) \\to 0$: utility grows without bound",
         "§3.4.2, main.tex l.267–271, PDF p.5; proof App. A.6",
         "Then for any $V$ with a finite mean which has no upper bound, "
         "$\\lim_{t\\to\\infty}\\mathbb{E}[V|X+V > t]$ $= \\infty$",
         "theorem6", "theorems", "thm6-normal",
         "$\\E[V \\mid U \\ge t]$ at $t = 10^4$, standard normal error and utility ($t/2$)"),
    # --- Definitions, figures of the proofs, footnotes, the post ----------------------------
    _row("defs", "Heavy tails (definition)", "Heavy tails",
         "heavy-tailed means $e^{tx}\\Fbar(x) \\to \\infty$ for every $t > 0$; light-tailed "
         "is used as its complement",
         "§2.2, main.tex l.138–141, PDF p.2",
         "heavy-tailed if its tail function … satisfies "
         "$\\lim _{x \\rightarrow \\infty} e^{t x} \\bar{F}(x)$ $=\\infty$ for all $t > 0$",
         "tails", "details", "defs-kl",
         "KL at which a law that is not heavy-tailed in the paper's sense gains 1 in mean",
         erratum="errata-definition"),
    _row("policy-kl", "Policy KL (definition)", "Policy KL",
         "the KL between policies is the per-state KL averaged over the states of a "
         "trajectory",
         "§2.1, main.tex l.126–127, PDF p.2",
         "we penalize $D_{KL}(\\pi \\| \\pi_0) \\triangleq$ "
         "$\\mathbb E_{s \\in T, T\\sim Tr(\\pi)}$ $[D_{KL}(\\pi(s) \\| \\pi_0(s))]$",
         "theorem3", "details", "policy-kl-average",
         "the paper's averaged KL of the same read-off policy (nats)",
         erratum="errata-policy-kl"),
    _row("fn-finite", "Footnote 3", "",
         "a reward on a finite set is bounded, but can be *effectively* heavy-tailed",
         "§4, main.tex l.277, PDF p.5",
         "For our purposes, a distribution of reward or error is effectively heavy-tailed if "
         "it takes on sufficiently large values and is well-modeled by a heavy-tailed "
         "distribution on its support.",
         "theorem3", "details", "fn-finite-best-h17",
         "largest mean return at summed KL 0.01, binary tree of depth 17, Student-t (3) returns"),
    _row("figA1", "Figure A.1", "",
         "the illustration of Theorem 1: Student-t (3), tail upweighted to $t^{-0.8}$",
         "App. A.1, main.tex l.414–421, PDF p.10",
         "upweighting them to $1/t$ would cause $\\mathbb E[X]$ to converge to ~$1$ while KL "
         "divergence goes to zero faster",
         "theorem1", "details", "figA1-mean",
         "limit of the mean of $P_t$ with tail mass $1/t$ (the caption: 1)",
         uses=("thm1",), erratum="errata-figure-a1"),
    _row("figA2", "Figure A.2", "",
         "the regions of the proof of Theorem 5, at $t = 25$ and $h(t) = 4$",
         "App. A.5, theorem5.tex l.71–76, PDF p.14",
         "A diagram showing the region boundaries at $-h(t)$, $h(t)$, and $t-h(t)$ in an "
         "example where $t=25$ and $h(t)=4$",
         "theorem5", "details", "figA2-mass",
         "conditional probability of region $r_2$ at $t = 25$, $h = 4$, $V \\sim t_5$, "
         "$X \\sim t_3$",
         uses=("thm5",)),
    _row("tabA1", "Table A.1", "",
         "why each region's share of $\\E[V \\mid X + V > t]$ is small",
         "App. A.5, theorem5.tex l.44–69, PDF p.14",
         "$r_3=[h(t),t-h(t)]$: $\\mathbb P[V \\in r_3 | c]$ is low, and $V<t$",
         "theorem5", "details", "tabA1-region3",
         "region $r_3$'s term of $\\E[V \\mid U \\ge t]$ at $t = 10^7$",
         uses=("thm5",), erratum="errata-references"),
    _row("fn-light-sum", "Footnote 4", "",
         "$U$ can be light-tailed while $X$ and $V$ are both heavy-tailed, but this is unusual",
         "§4, main.tex l.277, PDF p.5",
         "It is possible for $U$ to be light-tailed while $X$ and $V$ are both heavy-tailed, "
         "but this is unusual and we do not expect it to happen in practice.",
         "without_independence", "details", "fn-light-sum-error-rate",
         "decay rate $-\\log \\P(X \\ge x)/x$ of the heavy error at $x = 1000$ (the proxy's: 500)"),
    _row("fn-dependent", "Footnote 6", "",
         "an unbiased error, light-tailed given $V$ but dependent on it, stalls utility",
         "§5.2, main.tex l.349, PDF p.8",
         "But if $V \\sim N(0, 1)$, and $X | V \\sim N(0, 4)$ when $V \\in [-1, 1]$, "
         "otherwise $X=0$, then $\\lim_{t \\to\\infty} \\mathbb E[V | X + V \\ge t]$ $= 0$.",
         "without_independence", "details", "fn-dependent-mean",
         "$\\E[V \\mid U \\ge t]$ at $t = 1000$ (the footnote: tends to 0)",
         erratum="errata-footnote-6"),
    _row("both-heavy", "Post: both heavy-tailed", "",
         "with error and utility both heavy-tailed, a small KL pins down no limit",
         "the post, the authors' reply in its comments",
         "It could be anything because KL divergence basically does not restrict the "
         "expected value of anything heavy-tailed.",
         "without_independence", "details", "both-heavy-kl",
         "largest KL of the five families at $t = 10^{12}$ (nats)"),
    # --- Experiments -------------------------------------------------------------------------
    _row("fig1", "Figure 1", "Fig 1",
         "Starling-RM-7B-alpha on 30000 random sequences: ambiguous, Hill estimate about 0.20",
         "§4.1, main.tex l.312–317, PDF p.6",
         "The Hill estimator (error bars are standard error) appears to be 0.20 for higher "
         "values but fluctuates for lower values.",
         "reward_models", "experiments", "fig1-hill",
         "Hill estimate at the largest $k$, the authors' convention, their scores",
         uses=("defs",), erratum="errata-experiment-descriptions",
         note="Redrawn from the reward scores the authors published; the book runs no model."),
    _row("fig2", "Figure 2", "Fig 2",
         "Starling on 16000 Llama 2 samples: approximately normal, light-tailed",
         "§4.1, main.tex l.320–325, PDF p.7",
         "The Hill estimator plot should stabilize if the distribution is heavy-tailed, but "
         "it does not; thus, there is no evidence the distribution is heavy-tailed.",
         "reward_models", "experiments", "fig2-hill",
         "Hill estimate at the largest $k$, the authors' convention, their scores",
         uses=("defs",), erratum="errata-experiment-descriptions",
         note="Redrawn from the reward scores the authors published; the book runs no model."),
    _row("figB1", "Figure B.1", "Fig B.1",
         "the Pythia 1.4B reward model on random sequences: approximately normal",
         "App. B, main.tex l.676–682, PDF p.18",
         "The Q-Q plot suggests the distribution is approximately normal, which is much "
         "lighter-tailed than exponential.",
         "reward_models", "experiments", None, "",
         uses=("defs",), erratum="errata-experiment-descriptions",
         note="The authors did not publish the Pythia scores, and the book runs no model."),
    _row("tab1", "Table 1", "",
         "the hyperparameters of the ACG search",
         "§4, main.tex l.283–304, PDF p.5–6",
         "Hyperparameters for ACG",
         "reward_models", "experiments", None, "", erratum="errata-references",
         note="ACG needs Starling-RM-7B-alpha and a GPU; the book does not rerun it."),
    _row("figB2", "Figure B.2", "Fig B.2",
         "reward and log-probability of the 40 ACG-optimized inputs",
         "App. B, main.tex l.684–689, PDF p.18",
         "Reward and log-probability for ACG-optimized inputs to Starling 7B-alpha.",
         "reward_models", "experiments", "figB2-highest",
         "highest of the ACG rewards the authors published",
         uses=("tab1",), erratum="errata-acg-input",
         note="The rewards are the authors' published numbers; the log-probabilities need "
              "Llama 2 7B-chat, which the book does not run."),
    _row("acg-kl", "ACG arithmetic", "ACG KL",
         "a policy that emits an ACG input 1% of the time pays 13.35 nats for a gain of "
         "0.02571",
         "§4.1, main.tex l.327–331, PDF p.6–7",
         "will have KL divergence from Llama 2-chat of $\\alpha(\\log(\\alpha) - 1339.70) = "
         "13.35$ nats, but reward only about $\\alpha*(2.2377-0.3329) = 0.02571$ greater",
         "reward_models", "experiments", "acg-kl-exact",
         "exact KL of the mixture at $\\log q(x) = -1339.70$ (nats)",
         uses=("thm1", "thm3", "figB2"), erratum="errata-acg-signs"),
    _row("diag-calibration", "Reading the diagnostics", "",
         "reward models whose plots look normal are light-tailed, which suggests light-tailed "
         "error",
         "§4.1, main.tex l.310, PDF p.5–6",
         "both the Pythia model on random inputs … and Starling 7B-alpha on Llama-generated "
         "inputs … appear approximately normal and, therefore, light-tailed",
         "diagnostics", "experiments", "diag-calibration-hill-exponential",
         "Hill level of an exponential tail at the sample size of Figure 1"),
    _row("figB3", "Figure B.3", "Fig B.3",
         "best-of-$N$ on synthetic pairs: utility rises then falls for heavy-tailed error, "
         "rises for normal error",
         "App. B.1, main.tex l.691–707, PDF p.18–19",
         "In $5$ of $6$ cases when $X$ is lognormal or student-t, $V$ first increases then "
         "starts to decline around $N=10^2$ or $10^3$.",
         "best_of_n", "experiments", "figB3-t10t5-n",
         "$N$ at the peak of utility, Student-t (10) utility, Student-t (5) error",
         uses=("thm5", "thm6"), erratum="errata-figure-b3"),
    _row("figB4", "Figure B.4", "Fig B.4",
         "PPO with a heavy-tailed bonus for one token: the proxy explodes, the text "
         "degenerates",
         "App. B.2, main.tex l.709–734, PDF p.19–20",
         "proxy reward reaches values $>10^9$, demonstrating that the basic pattern of "
         "catastrophic Goodhart can occur in RLHF under conditions of heavy-tailed error",
         "policy_gradient", "experiments", "figB4-heavy-utility",
         "utility of the analogue's final policy, heavy-tailed error",
         uses=("cor1",),
         note="The run needs Pythia 1B, OpenRLHF and GPUs; its configuration is not in the "
              "authors' repository."),
    # --- Discussion --------------------------------------------------------------------------
    _row("disc-bounded", "§5.1, bounded objective", "",
         "maximizing a bounded function of $\\E[U]$ against the KL leaves $V \\approx 0$",
         "§5.1, main.tex l.342, PDF p.8",
         "If we maximize $\\sigma(\\mathbb E[U])$ $+ D_{KL}(Tr(\\pi) \\| Tr(\\pi_0))$, where "
         "$\\sigma$ is a bounded function (e.g. sigmoid), all near-optimal policies will have "
         "$V \\approx 0$.",
         "remedies", "discussion", "disc-bounded-utility",
         "utility of the optimum of the bounded objective, heavy-tailed error",
         erratum="errata-bounded-objective"),
    _row("disc-klcap", "§5.1, KL cap", "",
         "a KL cap bounds $\\E[V]$, which is then likely near 0",
         "§5.1, main.tex l.343, PDF p.8",
         "then $\\mathbb E[V]$ is also upper bounded by a finite value (see Theorem 2), and we "
         "think it is likely that $\\mathbb E[V] \\approx 0$",
         "remedies", "discussion", "disc-klcap-utility",
         "utility at the best reward under the KL cap, heavy-tailed error"),
    _row("disc-three-knob", "§5.1, three-knob model", "",
         "at a fixed KL, more reward means more severe but rarer hacking, or worse quality",
         "§5.1, main.tex l.343, PDF p.8",
         "Adjusting the policy to increase $\\mathbb E[U]$ without increasing KL increase the "
         "severity of hacking while decreasing either frequency of hacking or quality of "
         "responses.",
         "remedies", "discussion", "disc-three-knob-quality-drop",
         "factor by which quality falls along the three-knob sweep (frequency falls less)"),
    _row("disc-quantilizer", "Post: odds-ratio cap", "",
         "capping the odds ratio (as quantilizers do) keeps utility positive",
         "the post, section “Goodhart seems preventable”",
         "capping the maximum odds ratio for any action (similar to quantilizers) still "
         "results in positive utility",
         "remedies", "discussion", "disc-quantilizer-best",
         "largest utility of a quantilizer along the sweep, heavy-tailed error"),
    _row("disc-bounded-reward", "§5.1, §5.4, bounded reward", "",
         "a light-tailed or bounded reward prevents catastrophic Goodhart",
         "§5.1, main.tex l.337, PDF p.7; §5.4, l.355–361, p.8",
         "Catastrophic Goodhart can be prevented by using a light-tailed or bounded reward "
         "function.",
         "remedies", "discussion", "disc-bounded-reward-clip",
         "utility with the clipped reward at the smallest $\\beta$"),
    _row("disc-occupancy", "§2.3, occupancy measures", "",
         "the weakness of the KL holds for state occupancy measures too",
         "§2.3, main.tex l.154, PDF p.3",
         "Our results show an inherent weakness of KL divergence, including when applied to "
         "state occupancy measure.",
         "remedies", "discussion", "disc-occupancy-cliff-sum",
         "summed (trajectory) KL of the cliff example (nats)"),
    _row("disc-stronger", "§5.3, stronger optimization", "",
         "a search of all token sequences might still find heavy-tailed reward",
         "§5.3, main.tex l.353, PDF p.8",
         "We did not search the entire space of token sequences, so we cannot rule out that "
         "the reward is heavy-tailed enough to cause catastrophic Goodhart in some "
         "situations.",
         "remedies", "discussion"),
    _row("disc-overoptimization", "§5.5, overoptimization", "",
         "dependence between error and utility explains the overoptimization Gao et al. see",
         "§5.5, main.tex l.365, PDF p.8–9",
         "We think this discrepancy is explained by dependence between error and utility.",
         "remedies", "discussion"),
)

#: Where each result sits in the map: column (left to right, what is used before what uses
#: it) and height. Rows not listed are not drawn.
MAP_LAYOUT = {
    "policy-kl": (0.0, 7.2), "defs": (0.0, 4.4), "lem1": (0.0, 0.6),
    "thm1": (1.0, 6.4), "thm2": (1.0, 5.6), "fig1": (1.0, 4.8), "fig2": (1.0, 4.0),
    "figB1": (1.0, 3.2), "thm4": (1.0, 2.4), "lem2": (1.0, 0.6),
    "figB2": (2.0, 8.0), "thm3": (2.0, 7.2), "thm6": (2.0, 1.4), "thm5": (2.0, 0.6),
    "acg-kl": (3.0, 8.0), "cor1": (3.0, 6.0), "figB3": (3.0, 1.0),
    "figB4": (4.0, 6.0),
}


@dataclass(frozen=True)
class Result:
    """One row with what its chapter glued.

    Attributes
    ----------
    row : Row
        The declared row.
    status : str
        One of :data:`STATUSES`, or ``"pending"`` if the chapter has not glued it.
    numbers : dict
        Every other value glued under the row's prefix, ``{key: value}``, in notebook order.
    """

    row: Row
    status: str
    numbers: Mapping[str, object] = field(default_factory=dict)

    @property
    def style(self) -> Style:
        """The :class:`Style` of the status."""
        return STYLES[self.status]

    @property
    def key_number(self):
        """The row's key number, or None if it has none or the chapter has not glued it."""
        if self.row.key is None:
            return None
        return self.numbers.get(self.row.key)


@dataclass(frozen=True)
class Scorecard:
    """Every row's status and numbers, as the chapters glued them.

    Attributes
    ----------
    results : tuple of Result
        One a row, in the order of ``ROWS``.
    stray : tuple of str
        Status keys (``<id>-status``) glued by a chapter for no declared row.
    """

    results: tuple[Result, ...]
    stray: tuple[str, ...] = ()

    def __getitem__(self, row_id: str) -> Result:
        for result in self.results:
            if result.row.id == row_id:
                return result
        raise KeyError(f"row_id {row_id!r} is not a row of the scorecard")

    def __iter__(self):
        return iter(self.results)

    def __len__(self):
        return len(self.results)

    def counts(self) -> dict[str, int]:
        """How many rows have each status (``"pending"`` last), zeros included.

        Examples
        --------
        >>> card = Scorecard((Result(ROWS[0], "extends"), Result(ROWS[1], PENDING)))
        >>> card.counts()["extends"], card.counts()["pending"]
        (1, 1)
        """
        counts = dict.fromkeys((*STATUSES, PENDING), 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def pending(self) -> tuple[str, ...]:
        """The ids of the rows whose status no chapter has glued yet."""
        return tuple(r.row.id for r in self.results if r.status == PENDING)

    def summary(self) -> str:
        """The counts in words, the zero counts left out.

        Examples
        --------
        >>> card = Scorecard((Result(ROWS[0], "extends"), Result(ROWS[1], "corrects"),
        ...                   Result(ROWS[2], "extends")))
        >>> card.summary()
        '2 extended and 1 corrected'
        """
        verbs = {"reproduced": "reproduced", "extends": "extended", "corrects": "corrected",
                 "analogue": "replaced by an analogue", "not reproduced": "not reproduced",
                 PENDING: "still pending"}
        parts = [f"{n} {verbs[s]}" for s, n in self.counts().items() if n]
        if len(parts) <= 1:
            return "".join(parts)
        return ", ".join(parts[:-1]) + " and " + parts[-1]

    def check_complete(self, required: Iterable[str]) -> None:
        """Raise AssertionError if a row of ``required`` is still pending.

        The scorecard's last cell calls it with every row.

        Parameters
        ----------
        required : iterable of str
            Row ids that must have a status.

        Raises
        ------
        AssertionError
            Naming the pending rows and the chapters that should glue them.
        ValueError
            If ``required`` names a row that does not exist.
        """
        required = tuple(required)
        ids = {r.row.id for r in self.results}
        unknown = [r for r in required if r not in ids]
        if unknown:
            raise ValueError(f"required names rows that do not exist: {unknown}")
        missing = [self[r] for r in required if self[r].status == PENDING]
        if missing:
            listing = ", ".join(f"{r.row.id} ({r.row.chapter})" for r in missing)
            raise AssertionError(f"{len(missing)} scorecard rows are pending: {listing}")


def _value(output: Mapping) -> object:
    """The value of one glue output: Markdown text, or the literal of its plain text."""
    prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
    data = {mime[len(prefix):] if mime.startswith(prefix) else mime: value
            for mime, value in output.get("data", {}).items()}
    if "text/markdown" in data:
        text = data["text/markdown"]
        return ("".join(text) if isinstance(text, list) else text).strip()
    text = data.get("text/plain", "")
    text = ("".join(text) if isinstance(text, list) else text).strip()
    # numpy scalars print as np.float64(1.5) since numpy 2
    match = re.fullmatch(r"np\.(?:float|int|uint)\d*\((.*)\)", text)
    if match:
        text = match.group(1)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _path(value, name) -> Path:
    """``value`` as a Path, or a ValueError naming ``name`` (None, numbers...)."""
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path, got {type(value).__name__}")
    return Path(value)


def _card(card, name="card") -> Scorecard:
    if not isinstance(card, Scorecard):
        raise ValueError(f"{name} must be a Scorecard from collect(), not {type(card).__name__}")
    return card


def read_glue(path) -> dict[str, object]:
    """The values glued in a notebook, read from its committed outputs.

    Parameters
    ----------
    path : str or pathlib.Path
        A notebook (``.ipynb``). A missing file has nothing glued: ``{}``.

    Returns
    -------
    dict
        ``{key: value}`` in notebook order: a glued ``Markdown`` object as its text, a number
        as a float or int, anything else as the literal of its plain text (or that text).

    Raises
    ------
    ValueError
        If ``path`` is not a notebook (not JSON with a list of cells).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> out = {"output_type": "display_data", "metadata": {"scrapbook": {
    ...     "name": "thm1-kl", "mime_prefix": "application/papermill.record/"}},
    ...     "data": {"application/papermill.record/text/plain": "5.4e-11"}}
    >>> nb = {"cells": [{"cell_type": "code", "source": "", "outputs": [out]}]}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.ipynb"
    >>> _ = path.write_text(json.dumps(nb))
    >>> read_glue(path)
    {'thm1-kl': 5.4e-11}
    """
    path = _path(path, "path")
    if not path.exists():
        return {}
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"path {str(path)!r} is not a notebook: {exc}") from None
    if not isinstance(cells, list):
        raise ValueError(f"path {str(path)!r} is not a notebook: its cells are not a list")
    glued = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {})
            if isinstance(meta, Mapping) and "scrapbook" in meta:
                glued[meta["scrapbook"]["name"]] = _value(output)
    return glued


def record(values: Mapping[str, object], *, digits: int = 6) -> dict[str, object]:
    """Glue each value under its key, for the prose and the scorecard: a chapter's last step.

    Text (a status word, a verdict) is glued as Markdown; a number is rounded to ``digits``
    significant digits (or to its own, given as ``(value, digits)``), so that the prose quotes
    only digits that are stable across machines.

    Parameters
    ----------
    values : mapping
        ``{key: value}``, a value text, a real number or ``(number, digits)``.
    digits : int
        Significant digits of the numbers without their own.

    Returns
    -------
    dict
        ``{key: what was glued}``: text as given, numbers as rounded floats.

    Examples
    --------
    >>> record({"thm1-status": "extends", "thm1-kl": (5.4321e-11, 2)})  # no output outside a kernel
    {'thm1-status': 'extends', 'thm1-kl': 5.4e-11}
    """
    from IPython.display import Markdown

    if not isinstance(values, Mapping):
        raise ValueError(f"values must be a mapping of keys to values, not {type(values).__name__}")
    glued = {}
    for key, value in values.items():
        own = digits
        if isinstance(value, tuple):
            value, own = value
        if isinstance(value, str):
            _glue(key, Markdown(value))
            glued[key] = value
            continue
        if isinstance(own, bool) or not (isinstance(own, int) and own > 0):
            raise ValueError(f"digits of {key!r} must be a positive integer, got {own!r}")
        if not (isinstance(value, Real) and np.isfinite(value)):
            raise ValueError(f"values[{key!r}] must be text or a finite number, got {value!r}")
        glued[key] = float(f"{float(value):.{own}g}")
        _glue(key, glued[key])
    return glued


# MyST-NB's mark of a glued value that is not displayed (myst_nb.ext.glue.GLUE_PREFIX)
_GLUE_PREFIX = "application/papermill.record/"


def _glue(key, value):
    """``myst_nb.glue(key, value, display=False)``, written out.

    Importing ``myst_nb.ext.glue`` imports nbformat, whose JSON-schema checker builds an
    RFC 3987 grammar on import: 1.7 s of every chapter's run, for these three lines. The
    output is MyST-NB's to the byte (nbval compares every chapter's glued outputs).
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": key, "mime_prefix": _GLUE_PREFIX}
    display({_GLUE_PREFIX + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def _status(row: Row, glued: Mapping) -> str:
    key = f"{row.id}-status"
    if key not in glued:
        return PENDING
    word = " ".join(str(glued[key]).split()).lower()
    if word not in STATUSES:
        raise ValueError(
            f"{row.chapter}.ipynb glues {key} = {glued[key]!r}, not one of {STATUSES}")
    return word


def collect(book_dir, rows: Iterable[Row] = ROWS) -> Scorecard:
    """Every row's status and numbers, read from the chapters' committed notebooks.

    Parameters
    ----------
    book_dir : str or pathlib.Path
        The directory of the chapters (``book/``; ``"."`` from a notebook there).
    rows : iterable of Row
        The rows, ``ROWS`` by default.

    Returns
    -------
    Scorecard
        A row is ``"pending"`` while its chapter is missing or has not glued
        ``<id>-status``; its numbers are the other values glued under ``<id>-``.

    Raises
    ------
    ValueError
        If ``book_dir`` is not a directory, or a chapter glues a status outside
        :data:`STATUSES`.

    Examples
    --------
    >>> import tempfile
    >>> card = collect(tempfile.mkdtemp())
    >>> len(card) == len(ROWS), card.counts()["pending"] == len(ROWS)
    (True, True)
    """
    book_dir = _path(book_dir, "book_dir")
    if not book_dir.is_dir():
        raise ValueError(f"book_dir {str(book_dir)!r} is not a directory")
    rows = tuple(rows)
    glued = {chapter: read_glue(book_dir / f"{chapter}.ipynb")
             for chapter in dict.fromkeys(row.chapter for row in rows)}
    results = []
    for row in rows:
        values = glued[row.chapter]
        numbers = {key: value for key, value in values.items()
                   if key.startswith(f"{row.id}-") and key != f"{row.id}-status"
                   and not any(key.startswith(f"{other.id}-") and len(other.id) > len(row.id)
                               for other in rows)}
        results.append(Result(row, _status(row, values), numbers))
    declared = {f"{row.id}-status" for row in rows}
    stray = tuple(sorted(key for values in glued.values() for key in values
                         if key.endswith("-status") and key not in declared))
    return Scorecard(tuple(results), stray)


#: A ``{glue:text}`` (or ``{glue}``, ``{glue:md}``) reference to another document's key.
_GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`(?P<doc>[\w./-]+\.ipynb)::(?P<key>[\w.-]+?)"
                       r"(?::[^`]*)?`")


def glue_references(path) -> list[tuple[str, str]]:
    """The ``(notebook, key)`` pairs that a Markdown page pastes from other documents.

    Parameters
    ----------
    path : str or pathlib.Path
        A Markdown page.

    Returns
    -------
    list of tuple of str
        In the order they appear, without repeats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> page = pathlib.Path(tempfile.mkdtemp()) / "p.md"
    >>> _ = page.write_text("KL {glue:text}`theorem1.ipynb::thm1-kl:.4g` nats")
    >>> glue_references(page)
    [('theorem1.ipynb', 'thm1-kl')]
    """
    path = _path(path, "path")
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"path {str(path)!r} is not a text page: {exc}") from None
    found = [(m["doc"], m["key"]) for m in _GLUE_REF.finditer(text)]
    return list(dict.fromkeys(found))


def missing_references(pages: Iterable, book_dir, provided: Mapping | None = None
                       ) -> list[tuple[str, str, str]]:
    """The glue references of ``pages`` that no committed notebook provides yet.

    Parameters
    ----------
    pages : iterable of str or pathlib.Path
        Markdown pages (``book/errata.md`` ...).
    book_dir : str or pathlib.Path
        The directory the references are relative to.
    provided : mapping, optional
        ``{notebook name: keys}`` to use instead of a notebook's committed outputs (for the
        keys that the running notebook glues itself).

    Returns
    -------
    list of tuple of str
        ``(page name, notebook, key)`` for each reference that would fail the build.
    """
    book_dir = _path(book_dir, "book_dir")
    if isinstance(pages, (str, os.PathLike)) or not isinstance(pages, Iterable):
        raise ValueError(f"pages must be an iterable of paths, got {type(pages).__name__}")
    pages = [_path(page, "pages") for page in pages]
    provided = dict(provided or {})
    missing = []
    for page in pages:
        page = Path(page)
        for doc, key in glue_references(page):
            keys = provided[doc] if doc in provided else read_glue(book_dir / doc)
            if key not in keys:
                missing.append((page.name, doc, key))
    return missing


def page_values(card: Scorecard) -> dict[str, object]:
    """The values the scorecard glues for the other back pages and the introduction.

    ``status-<id>`` (icon and word) for each row, ``n-<status>`` (dashes for spaces) for each
    count, ``n-rows`` and ``summary`` (:meth:`Scorecard.summary`).

    Examples
    --------
    >>> card = Scorecard((Result(ROWS[0], "extends"),))
    >>> values = page_values(card)
    >>> values["status-thm1"], values["n-extends"], values["summary"]
    ('+ extends', 1, '1 extended')
    """
    _card(card)
    values: dict[str, object] = {f"status-{r.row.id}": r.style.text() for r in card}
    values |= {f"n-{status.replace(' ', '-')}": n for status, n in card.counts().items()}
    values |= {"n-rows": len(card), "summary": card.summary()}
    return values


def problems(card: Scorecard, book_dir) -> list[str]:
    """What is inconsistent between the rows, the chapters' glue and the errata page.

    Checks that the row ids are unique and name known chapters and parts, that every row's
    uses are rows (without a cycle), that every errata label a row names is defined on
    ``errata.md`` (a ``(label)=`` line), that every *corrects* row names one, and that no
    chapter glues a status for an undeclared row.

    Parameters
    ----------
    card : Scorecard
        From :func:`collect`.
    book_dir : str or pathlib.Path
        The directory of ``errata.md``.

    Returns
    -------
    list of str
        One sentence a problem; empty when all is consistent.
    """
    _card(card)
    book_dir = _path(book_dir, "book_dir")
    rows = [r.row for r in card]
    found = []
    ids = [row.id for row in rows]
    if len(set(ids)) != len(ids):
        found.append("row ids repeat")
    for row in rows:
        if row.chapter not in CHAPTERS:
            found.append(f"{row.id}: unknown chapter {row.chapter!r}")
        if row.part not in PARTS:
            found.append(f"{row.id}: unknown part {row.part!r}")
        found += [f"{row.id}: uses {u!r}, not a row" for u in row.uses if u not in ids]
    try:
        _reaches(rows)
    except ValueError as exc:
        found.append(str(exc))
    errata = book_dir / "errata.md"
    text = errata.read_text(encoding="utf-8") if errata.exists() else ""
    labels = set(re.findall(r"^\((errata-[\w-]+)\)=$", text, re.MULTILINE))
    found += [f"{row.id}: no errata entry {row.erratum!r}" for row in rows
              if row.erratum and row.erratum not in labels]
    found += [f"{r.row.id}: corrects, but names no errata entry" for r in card
              if r.status == "corrects" and not r.row.erratum]
    found += [f"{key}: a status for no row" for key in card.stray]
    return found


def _reaches(rows: Iterable[Row]) -> dict[str, set[str]]:
    """For each row, every row it uses directly or through others."""
    uses = {row.id: set(row.uses) for row in rows}
    reach: dict[str, set[str]] = {}

    def visit(node, seen=()):
        if node in reach:
            return reach[node]
        if node in seen:
            raise ValueError(f"the rows' uses form a cycle through {node!r}")
        found = set()
        for used in uses.get(node, ()):
            found |= {used} | visit(used, (*seen, node))
        reach[node] = found
        return found

    for node in uses:
        visit(node)
    return reach


def map_edges(rows: Iterable[Row] = ROWS, layout: Mapping = MAP_LAYOUT):
    """The arrows of the map: ``(used, user)`` pairs between drawn rows, implied ones left out.

    An arrow that another path already implies (Lemma 1 to Theorem 5, when Lemma 1 leads to
    Lemma 2 and Lemma 2 to Theorem 5) is not drawn.

    Examples
    --------
    >>> ("lem1", "thm5") in map_edges(), ("lem2", "thm5") in map_edges()
    (False, True)
    """
    rows = tuple(rows)
    reach = _reaches(rows)
    edges = []
    for row in rows:
        if row.id not in layout:
            continue
        for used in row.uses:
            if used not in layout:
                continue
            implied = any(used in reach[other] for other in row.uses if other != used)
            if not implied:
                edges.append((used, row.id))
    return edges


def _text_color(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (a ``#RRGGBB`` colour)."""
    r, g, b = (int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.45 else "white"


def draw_map(card: Scorecard, ax=None, *, layout: Mapping = MAP_LAYOUT, legend: bool = True):
    """The map of the results: one node a result, coloured by its status, arrows for "uses".

    Each node shows the result's short name and its status, icon and word, on a fill of the
    status's colour with its hatch: three cues (colour, pattern, text), so the map reads
    under colour-vision deficiencies and in greyscale. An arrow runs from a result to each
    result that uses it (arrows implied by a longer path are left out, :func:`map_edges`).
    The legend gives each status and how many rows of the scorecard have it.

    Parameters
    ----------
    card : Scorecard
        From :func:`collect`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure, 7 by 5 inches, if None.
    layout : mapping, optional
        ``{row id: (column, height)}`` of the nodes, :data:`MAP_LAYOUT` by default.
    legend : bool
        Whether to draw the legend.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        If ``card`` is not a :class:`Scorecard`, or ``layout`` places a row it lacks.

    Examples
    --------
    >>> import tempfile
    >>> fig = draw_map(collect(tempfile.mkdtemp()))
    >>> len(fig.axes[0].patches) == len(MAP_LAYOUT) + len(map_edges())
    True
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    if not isinstance(card, Scorecard):
        raise ValueError(f"card must be a Scorecard from collect(), not {type(card).__name__}")
    ids = {result.row.id for result in card}
    unknown = [row_id for row_id in layout if row_id not in ids]
    if unknown:
        raise ValueError(f"layout places rows that are not in the scorecard: {unknown}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 5.0), layout="constrained")
    fig = ax.figure
    width, height = 0.86, 0.64
    edges = map_edges((r.row for r in card), layout)
    for used, user in edges:
        (ux, uy), (x, y) = layout[used], layout[user]
        # arrows leaving one node spread along its right edge, in the order of their ends
        fan = sorted((layout[b][1] for a, b in edges if a == used), reverse=True)
        offset = 0.0 if len(fan) == 1 else 0.4 * height * (0.5 - fan.index(y) / (len(fan) - 1))
        start = (ux + width / 2, uy + offset)
        end = (x - width / 2, y)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11,
                                     color="#555555", lw=1.0, shrinkA=1, shrinkB=1,
                                     zorder=1))
    white = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none",
             "alpha": 0.92}
    for row_id, (x, y) in layout.items():
        result = card[row_id]
        style = result.style
        ax.add_patch(FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height,
            boxstyle="round,pad=0.0,rounding_size=0.08", facecolor=style.color,
            edgecolor="black", hatch=style.hatch, lw=1.0,
            linestyle="--" if result.status == PENDING else "-", zorder=2))
        ax.text(x, y + 0.14, result.row.short, ha="center", va="center", fontsize=10,
                fontweight="bold", zorder=3, bbox=white)
        plain = not style.hatch
        ax.text(x, y - 0.15, style.text(), ha="center", va="center", fontsize=10,
                color=_text_color(style.color) if plain else "black", zorder=3,
                bbox=None if plain else white)
    if legend:
        counts = card.counts()
        shown = [s for s in (*STATUSES, PENDING) if s != PENDING or counts[s]]
        handles = [Patch(facecolor=STYLES[s].color, hatch=STYLES[s].hatch, edgecolor="black",
                         linestyle="--" if s == PENDING else "-",
                         label=f"{STYLES[s].text()}: {counts[s]}") for s in shown]
        ax.legend(handles=handles, loc="center", bbox_to_anchor=(3.55, 3.6),
                  bbox_transform=ax.transData, frameon=True, fontsize=10,
                  title="rows of the scorecard", title_fontsize=10, handlelength=1.8,
                  handleheight=1.3, borderpad=0.6)
    xs = [x for x, _ in layout.values()]
    ys = [y for _, y in layout.values()]
    ax.set_xlim(min(xs) - width / 2 - 0.05, max(xs) + width / 2 + 0.05)
    ax.set_ylim(min(ys) - height / 2 - 0.05, max(ys) + height / 2 + 0.05)
    ax.set_axis_off()
    return fig


def _number(value) -> str:
    """A glued value as the scorecard prints it: numbers to 4 significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:d}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _chapter_link(chapter: str, book_dir: Path | None) -> str:
    """``{doc}`` link to a chapter, or its name in words while the notebook does not exist."""
    if book_dir is not None and not (book_dir / f"{chapter}.ipynb").exists():
        return f"*{chapter.replace('_', ' ')}* (chapter not written yet)"
    return f"{{doc}}`{chapter}`"


def counts_markdown(card: Scorecard) -> str:
    """The counts of each status as one line of badges (MyST Markdown).

    Examples
    --------
    >>> card = Scorecard((Result(ROWS[0], "extends"), Result(ROWS[1], PENDING)))
    >>> print(counts_markdown(card))  # doctest: +NORMALIZE_WHITESPACE
    {bdg-success}`✓ reproduced: 0` {bdg-primary}`+ extends: 1`
    {bdg-danger}`✎ corrects: 0` {bdg-warning}`≈ analogue: 0`
    {bdg-muted}`✗ not reproduced: 0` {bdg-light}`… pending: 1`
    """
    counts = _card(card).counts()
    shown = [s for s in (*STATUSES, PENDING) if s != PENDING or counts[s]]
    return " ".join(f"{{{STYLES[s].badge}}}`{STYLES[s].text()}: {counts[s]}`" for s in shown)


def part_markdown(card: Scorecard, part: str, book_dir=None, *, number: int | None = None
                  ) -> str:
    """One part of the scorecard as MyST Markdown: a table, then the details of each row.

    The table has one row a result: its name (linked to its chapter) and claim, the status
    badge, and the key number with what it is. A *corrects* row also quotes the source's
    words and links its errata entry. Below the table, one collapsed dropdown a row gives the
    source's location and words, every number the chapter glued for it, and the errata entry.

    Parameters
    ----------
    card : Scorecard
        From :func:`collect`.
    part : str
        A key of :data:`PARTS`.
    book_dir : str or pathlib.Path, optional
        The chapters' directory; a chapter whose notebook is missing is named, not linked.
    number : int, optional
        If given, the table is captioned "Scorecard, part <number>: ..." and labelled
        ``tab-scorecard-<part>``.

    Returns
    -------
    str
        MyST Markdown (``{doc}``, ``{ref}``, badges, ``{dropdown}``).
    """
    from goodhart.plotting import table

    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, not {part!r}")
    _card(card)
    book_dir = None if book_dir is None else _path(book_dir, "book_dir")
    results = [r for r in card if r.row.part == part]
    rows = []
    for result in results:
        row = result.row
        link = _chapter_link(row.chapter, book_dir)
        name = (f"{{doc}}`{row.name} <{row.chapter}>`" if link.startswith("{doc}")
                else row.name)
        cell = f"{name}: {row.claim}"
        if result.status == "corrects":
            cell += f"; the source: “{row.quote}” ({{ref}}`erratum <{row.erratum}>`)"
        if row.key is None:
            number_cell = "—"
        elif result.key_number is None:
            number_cell = f"pending: {row.key_label}"
        else:
            number_cell = f"**{_number(result.key_number)}**, {row.key_label}"
        rows.append([cell, result.style.markdown(), number_cell])
    caption = None if number is None else f"Scorecard, part {number}: {PARTS[part].lower()}."
    name = None if number is None else f"tab-scorecard-{part}"
    lines = [table(rows, headers=["result", "status", "key number"], caption=caption,
                   name=name).to_markdown(), ""]
    for result in results:
        row = result.row
        numbers = "; ".join(f"`{key}` = {_number(value)}" for key, value in
                            result.numbers.items()) or "none yet"
        body = [
            f"**Source.** {row.source}: “{row.quote}”",
            "",
            f"**Status.** {result.style.markdown()}. **Chapter:** "
            f"{_chapter_link(row.chapter, book_dir)}.",
            "",
            f"**Glued by the chapter.** {numbers}.",
        ]
        if row.erratum:
            what = "the correction" if result.status == "corrects" else "a related entry"
            body += ["", f"**Errata.** See {what}, {{ref}}`{row.erratum}`."]
        if row.note:
            body += ["", f"**Note.** {row.note}"]
        lines += [f"````{{dropdown}} {row.name}: details", *body, "````", ""]
    return "\n".join(lines).rstrip() + "\n"
