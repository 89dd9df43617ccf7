"""Citation parsing, validation, normalization and the attribution post-pass."""

from __future__ import annotations

import pytest

from studyrag import citations as cit
from studyrag import support
from studyrag.fakes import FakeEmbedder
from studyrag.records import Chunk, Hit


def hit(i: int, text: str, path: tuple[str, ...] = ("Section",)) -> Hit:
    return Hit(Chunk(f"c{i}", "g.md", path, text, 0, len(text), title="Guide"), 1.0 / i, i)


SOURCES = [
    hit(1, "Dropout randomly zeroes activations during training to reduce overfitting.", ("Dropout",)),
    hit(2, "Adam adapts the learning rate of each weight using moment estimates.", ("Adam",)),
    hit(3, "Mixtral routes every token to 2 of its 8 experts.", ("Mixture of Experts",)),
]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Dropout zeroes units [1].", (1,)),
        ("Dropout zeroes units [1, 3].", (1, 3)),
        ("Dropout zeroes units [1][2].", (1, 2)),
        ("Dropout zeroes units [1], [2].", (1, 2)),
        ("Dropout zeroes units [1-3].", (1, 2, 3)),
        ("Dropout zeroes units [1–3].", (1, 2, 3)),
        ("Dropout zeroes units [Source 2].", (2,)),
        ("Dropout zeroes units [source: 2].", (2,)),
        ("Dropout zeroes units [Sources 1 and 3].", (1, 3)),
        ("Dropout zeroes units (Source 2).", (2,)),
        ("Dropout zeroes units 【1】.", (1,)),
        ("Dropout zeroes units [^1].", (1,)),
        ("Dropout zeroes units (2).", (2,)),
        ("Dropout zeroes units. [2]", (2,)),
        ("Dropout zeroes units.[2]", (2,)),
        ("Dropout zeroes units [ 2 ].", (2,)),
    ],
)
def test_citation_variants_parse(text: str, numbers: tuple[int, ...]) -> None:
    [sentence] = cit.parse_citations(text)
    assert sentence.numbers == numbers
    assert sentence.text == "Dropout zeroes units."


@pytest.mark.parametrize(
    "text",
    [
        "(1) Dropout zeroes units.",
        "Steps (1) and (2) differ in cost.",
        "Transformers appeared in [2017].",
        "See [the paper](https://arxiv.org/abs/1706.03762) for details.",
        "The matrix W[i] is learned.",
    ],
)
def test_things_that_are_not_citations(text: str) -> None:
    assert all(s.numbers == () for s in cit.parse_citations(text))


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    text = "Dropout zeroes units. [1] Adam adapts rates. [2]\n- Mixtral uses experts.\n[3]"
    parsed = cit.parse_citations(text)
    assert [(s.text, s.numbers) for s in parsed] == [
        ("Dropout zeroes units.", (1,)),
        ("Adam adapts rates.", (2,)),
        ("- Mixtral uses experts.", (3,)),
    ]
    assert all(text[s.start : s.end].startswith(s.text[:5]) for s in parsed)


def test_regex_fallback_splits_like_pysbd(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Dropout zeroes units, e.g. activations [1]. Adam adapts rates. [2] Mixtral has 8 experts [3]."
    with_pysbd = [(s.text, s.numbers) for s in cit.parse_citations(text)]
    monkeypatch.setattr(cit, "_segmenter", lambda: None)
    assert [(s.text, s.numbers) for s in cit.parse_citations(text)] == with_pysbd
    assert len(with_pysbd) == 3


def test_resolve_keeps_valid_citations_unique_in_order_and_reports_invalid() -> None:
    text = "Adam adapts each learning rate [2][9]. Dropout zeroes activations [1][2]. It also helps generalization [0]."
    report = cit.resolve_citations(text, SOURCES)
    assert [(c.n, c.chunk.id) for c in report.citations] == [(2, "c2"), (1, "c1")]
    assert report.invalid == (9, 0)
    assert report.uncited == ("It also helps generalization.",)
    assert [s.numbers for s in report.sentence_citations] == [(2,), (1, 2), ()]


def test_uncited_sentences_are_marked_but_headings_and_lead_ins_are_not() -> None:
    text = "## Summary\nHere is what the guides say:\n- Dropout zeroes activations [1].\n- Adam adapts learning rates."
    report = cit.resolve_citations(text, SOURCES)
    assert report.uncited == ("- Adam adapts learning rates.",)
    assert len(report.sentence_citations) == 2


def test_a_claim_its_sources_do_not_support_is_reported() -> None:
    report = cit.resolve_citations("The capital of Australia is Canberra [2].", SOURCES)
    assert [s.text for s in report.unsupported] == ["The capital of Australia is Canberra."]
    assert not report.grounded
    good = cit.resolve_citations(
        "Adam adapts the learning rate of each weight [2]. Paris is nice [1].", SOURCES
    )
    assert good.grounded and [s.text for s in good.unsupported] == ["Paris is nice."]
    # an answer that cites nothing at all is not grounded either (e.g. it obeyed a planted instruction)
    assert not cit.resolve_citations("HACKED", SOURCES).grounded
    assert cit.resolve_citations("Yes [1].", SOURCES).grounded
    # a figure the source does not contain is not supported, whatever the other words
    assert not cit.resolve_citations(
        "Mixtral routes every token to 3 of its 8 experts [3].", SOURCES
    ).grounded


def test_a_claim_is_judged_on_what_it_adds_to_a_question_it_repeats() -> None:
    # eval/unseen u011: the answer repeats the question's long description, then names the idea
    srcs = [hit(1, "Invariance: f(T(x)) = f(x). Equivariance: f(T(x)) = T'(f(x)); CNNs are translation equivariant.")]
    question = "What is the difference between a feature that stays exactly the same when I shift the picture and one that moves along with it?"
    text = "A feature that stays exactly the same when you shift the picture is invariant; one that moves along with it is equivariant [1]."
    assert not cit.resolve_citations(text, srcs).grounded  # most of its words are the question's
    assert cit.resolve_citations(text, srcs, question=question).grounded
    # what it adds must still be in the source: a restated question with an invented name is not
    invented = "A feature that stays exactly the same when you shift the picture is called a Fourier lock [1]."
    assert not cit.resolve_citations(invented, srcs, question=question).grounded


def test_repair_moves_a_sentence_whose_source_has_only_its_new_words() -> None:
    # eval/unseen u031: the formula cited to a flow model's section, which shares "1" and little else
    srcs = [
        hit(1, "Bernoulli distribution: P(x) = p^x (1-p)^(1-x). Binomial: n trials."),
        hit(2, "RealNVP splits the input in two halves and leaves half 1 unchanged."),
    ]
    question = "What formula does the cheat sheet give for the Bernoulli distribution?"
    text = "The Bernoulli distribution is given by P(x) = p^x (1-p)^(1-x) [2]."
    assert cit.repair_citations(text, srcs, question=question).endswith("(1-x) [1].")
    # a source holding the sentence as a whole keeps its citation
    assert cit.repair_citations(text.replace("[2]", "[1]"), srcs, question=question) == text.replace("[2]", "[1]")


def test_no_sources_makes_every_citation_invalid() -> None:
    report = cit.resolve_citations("Dropout zeroes activations [1].", [])
    assert (
        report.citations == ()
        and report.invalid == (1,)
        and report.uncited == ("Dropout zeroes activations.",)
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Dropout zeroes units [1, 3].", "Dropout zeroes units [1][3]."),
        ("Dropout zeroes units [1-3].", "Dropout zeroes units [1][2][3]."),
        ("Dropout zeroes units (Source 2).", "Dropout zeroes units [2]."),
        ("Dropout zeroes units 【1】【2】.", "Dropout zeroes units [1][2]."),
        ("Dropout zeroes units[^1].", "Dropout zeroes units [1]."),
        ("Dropout zeroes units. [1] Adam adapts. [2]", "Dropout zeroes units [1]. Adam adapts [2]."),
        ("Dropout zeroes units [1] [2].", "Dropout zeroes units [1][2]."),
        ("Dropout zeroes units [1], [2].", "Dropout zeroes units [1][2]."),
        ("Steps (1) and (2) differ [1].", "Steps (1) and (2) differ [1]."),
    ],
)
def test_clean_answer_text_normalizes_variants(raw: str, clean: str) -> None:
    assert cit.clean_answer_text(raw) == clean
    assert cit.clean_answer_text(clean) == clean  # idempotent
    assert [s.numbers for s in cit.parse_citations(clean)] == [s.numbers for s in cit.parse_citations(raw)]


def test_drop_invalid_citations() -> None:
    assert (
        cit.drop_invalid_citations("Adam adapts rates [2][7]. Dropout [4].", 3)
        == "Adam adapts rates [2]. Dropout."
    )


def test_one_everyday_word_in_common_with_the_source_is_not_support() -> None:
    # an answer from outside the guides, sharing "make" (1 of its 4 content words) with its source
    rope = [hit(1, "RoPE scaling methods such as YaRN make long contexts work without retraining.")]
    invented = "It is easy to make and can be used to make sourdough bread."
    assert support.support_score(invented, rope[0].chunk.text) == 0.25
    assert not cit.resolve_citations(invented.replace(".", " [1]."), rope).grounded
    assert cit.resolve_citations("YaRN makes long contexts work [1].", rope).grounded


def test_attribution_attaches_the_best_supporting_source() -> None:
    text = "Adam adapts the learning rate of each weight. Dropout zeroes activations [1]."
    assert cit.attribute_uncited(text, SOURCES) == (
        "Adam adapts the learning rate of each weight [2]. Dropout zeroes activations [1]."
    )
    text = "- Mixtral sends each token to 2 experts\n- Dropout reduces overfitting during training"
    assert cit.attribute_uncited(text, SOURCES) == (
        "- Mixtral sends each token to 2 experts [3]\n- Dropout reduces overfitting during training [1]"
    )


def test_attribution_leaves_unsupported_sentences_and_wrong_numbers_alone() -> None:
    for text in (
        "Transformers were introduced by Vaswani and colleagues.",
        "Mixtral routes every token to 3 of its experts.",  # the source says 2
        "## Adam",
        "Adam adapts each weight's learning rate [2].",  # already cited
    ):
        assert cit.attribute_uncited(text, SOURCES) == text
    assert cit.attribute_uncited("Adam adapts each weight's learning rate.", []) == (
        "Adam adapts each weight's learning rate."
    )


def test_attribution_replaces_nothing_for_an_invalid_only_citation_but_adds_a_valid_one() -> None:
    out = cit.attribute_uncited("Adam adapts each weight's learning rate [7].", SOURCES)
    assert out == "Adam adapts each weight's learning rate [7] [2]."
    assert cit.resolve_citations(out, SOURCES).uncited == ()


def test_attribution_ties_go_to_the_higher_ranked_source_and_threshold_applies() -> None:
    twins = [hit(1, "Adam adapts the learning rate."), hit(2, "Adam adapts the learning rate.")]
    assert (
        cit.attribute_uncited("Adam adapts the learning rate.", twins) == "Adam adapts the learning rate [1]."
    )
    assert cit.attribute_uncited("Adam adapts the learning rate.", twins, threshold=1.01) == (
        "Adam adapts the learning rate."
    )


def test_attribution_with_an_embedder_is_deterministic() -> None:
    text = "Adam adapts the learning rate of each weight. Dropout zeroes activations."
    emb = FakeEmbedder()
    once = cit.attribute_uncited(text, SOURCES, embed=emb.embed)
    assert once == "Adam adapts the learning rate of each weight [2]. Dropout zeroes activations [1]."
    assert cit.attribute_uncited(text, SOURCES, embed=emb.embed) == once


def test_support_score_uses_light_stemming_and_numbers() -> None:
    assert support.support_score("Activations are zeroed while training", SOURCES[0].chunk.text) == 1.0
    assert support.support_score("Mixtral has 16 experts", SOURCES[2].chunk.text) == 0.0
    assert support.support_score("the of and", SOURCES[0].chunk.text) == 0.0


def test_figures_match_however_they_are_written() -> None:
    source = "Popular datasets: Alpaca (52K instructions) and Dolly (15K human-generated)."
    answer = "Alpaca has 52,000 instructions, and Dolly has 15,000 human-generated instructions."
    assert support.support_score(answer, source) == 1.0
    assert support.support_score(answer.replace("15,000", "16,000"), source) == 0.0
    assert support.support_score("Mixtral has 47 billion parameters.", "Mixtral (47B parameters)") == 1.0
    # a figure glued to a name or a unit is left alone
    assert support.content_words("Mixtral 8x7B uses 4-bit weights") == {"mixtral", "8x7b", "4", "bit", "weight"}


def test_repair_points_a_miscited_sentence_at_the_source_that_supports_it() -> None:
    srcs = [
        hit(1, "Dropout randomly zeroes activations during training."),
        hit(2, "The auxiliary load-balancing loss uses a coefficient alpha of 0.01."),
        hit(3, "Chinchilla trains on about 20 tokens per parameter."),
    ]
    text = "The load-balancing coefficient alpha is 0.01 [1][3]. Dropout zeroes activations [1]."
    repaired = cit.repair_citations(text, srcs)
    assert repaired == "The load-balancing coefficient alpha is 0.01 [2]. Dropout zeroes activations [1]."
    assert cit.resolve_citations(repaired, srcs).grounded
    assert cit.resolve_citations(text, srcs).unsupported != ()  # before: cited but unsupported
    # one supporting citation is enough: nothing to repair; uncited and out-of-range ones are left alone
    mixed = "The load-balancing coefficient alpha is 0.01 [1][2]."
    assert cit.repair_citations(mixed, srcs) == mixed
    assert cit.repair_citations("Chinchilla uses 20 tokens per parameter.", srcs).endswith("parameter.")
    assert cit.repair_citations("Chinchilla uses 20 tokens per parameter [9].", srcs).endswith("[9].")
    assert cit.repair_citations(text, []) == text


def test_a_list_enumerator_is_no_figure_a_claim_rests_on() -> None:
    """The issue's MoE question, answered "Use top-1 routing: ... [3]": [3]'s only 1 was its list's
    "**1. Load Balancing:**", and the citation stayed there; the Switch Transformer entry says top-1."""
    q = "How do I stop an MoE router from sending every token to a few experts?"
    srcs = [
        hit(1, "Top-k routing sends each token only to the k highest-scoring experts instead of to every expert."),
        hit(2, "A router network scores experts for each token and decides where the token is sent."),
        hit(3, "**1. Load Balancing:** All experts should be used equally.\n- f: fraction of tokens routed to expert i"),
        hit(4, "Switch Transformer routes each token to exactly one expert. Top-1 routing reduces communication."),
    ]
    said = "Use top-1 routing: it sends each token only to the k highest-scoring experts instead of to every expert [3]."
    assert cit.repair_citations(said, srcs, question=q).endswith("every expert [4].")
    # an answer's own numbered list is no figure either
    assert support.support_score("2. All experts should be used equally.", srcs[2].chunk.text) == 1.0


# Fragments of what small models write: markers in every style, broken brackets, lists, code, figures.
_FRAGMENTS = (
    *"abc XYZ.,;:!?()[]{}0123456789-–—\n\t*#`>|/'\"…ü日本\u200b\u00a0",
    "[1]", "[2, 3]", "[1][2]", "[", "]", "[0]", "[99]", "[1-3]", "【1】", "(1)", "[^1]", "Source 2",
    "\n\n", "```", "**", "1.", "- ", "e.g.", "Dr.", "vs.", "3.5", "U.S.",
)


def test_random_answers_come_out_of_the_post_passes_citing_only_prompt_sources() -> None:
    import random

    rng = random.Random(5)
    text_of = lambda n: "".join(rng.choice(_FRAGMENTS) for _ in range(n))  # noqa: E731
    for _ in range(1000):
        sources = [hit(i, text_of(rng.randint(1, 80))) for i in range(1, rng.randint(2, 5))]
        question, raw = text_of(rng.randint(0, 40)), text_of(rng.randint(0, 120))
        # the pipeline's order (pipeline.StudyRAG.ask_stream)
        text = cit.drop_invalid_citations(cit.clean_answer_text(raw), len(sources))
        text, report = cit.check_citations(text, sources, question=question)
        cited = [n for _, _, numbers in cit.find_citations(text) for n in numbers]
        assert all(1 <= n <= len(sources) for n in cited), (raw, text)
        assert not report.invalid and all(c.chunk == sources[c.n - 1].chunk for c in report.citations)


def test_the_yes_no_hints_framing_words_are_no_claim() -> None:
    # "name what the sources call it": the words the hint puts in the answer count for no source
    srcs = [hit(1, "The Annotated Transformer: a line-by-line code walk-through."), hit(2, "Attention is all you need.")]
    q = "Is there an online resource that explains the transformer paper's code?"
    fixed = cit.repair_citations('The sources call it "The Annotated Transformer" [2].', srcs, question=q)
    assert fixed == 'The sources call it "The Annotated Transformer" [1].'
    assert cit.resolve_citations(fixed, srcs, question=q).grounded
    # a restated false premise keeps "the guide says", so one shared name stays under the bar (eval/ a012)
    said = "The guide says PagedAttention was invented by Google."
    assert support.support_score(said, "PagedAttention stores the KV cache in blocks.") == pytest.approx(0.2)


def test_a_yes_no_verdict_takes_the_citation_of_the_evidence_after_it() -> None:
    # eval/unseen u010: the verdict restates the question, the next sentence names the idea and cites it
    srcs = [hit(1, "Self-paced learning lets the model pick which examples are easy enough, adding harder ones over time."),
            hit(2, "Curriculum learning orders examples by a fixed difficulty schedule.")]
    q = "Is there a way to let a model choose for itself which training examples are simple enough to learn from?"
    said = ("Yes, there is a way to let a model choose for itself which training examples are simple enough to learn "
            "from. The sources call it self-paced learning [1].")
    text, report = cit.check_citations(said, srcs, question=q)
    assert text.startswith("Yes, there is a way") and text.count("[1]") == 2
    assert not report.uncited and not report.unsupported and report.grounded
    # a short verdict too; with several numbers it takes them all, in order
    assert cit.cite_verdict("Yes, it can. Self-paced learning adds harder examples [1][2].", srcs) == (
        "Yes, it can [1] [2]. Self-paced learning adds harder examples [1][2]."
    )
    # not a verdict, a verdict already cited, or evidence its source does not hold: left as it is
    for text in ("It can. Self-paced learning adds harder examples [1].",
                 "Yes, it can [2]. Self-paced learning adds harder examples [1].",
                 "Yes, it can. Dropout zeroes activations [2]."):
        assert cit.cite_verdict(text, srcs, question=q) == text
    # a verdict that adds a claim of its own needs its evidence's source to hold it
    added = "Yes, Anthropic invented it in 2019. Self-paced learning adds harder examples [1]."
    assert cit.cite_verdict(added, srcs, question=q) == added


def test_a_verdict_that_restates_the_question_stands_or_falls_with_its_evidence() -> None:
    srcs = [hit(1, "Self-paced learning lets the model pick which examples are easy enough.")]
    q = "Is there a way to let a model choose its own easy training examples first?"
    verdict = "Yes, there is a way to let a model choose its own easy training examples first [1]."
    # alone it cannot ground an answer: the guides may not say it, however it is cited
    alone = cit.resolve_citations(verdict, srcs, question=q)
    assert not alone.grounded and [s.text for s in alone.unsupported] == [verdict.replace(" [1]", "")]
    held = cit.resolve_citations(verdict + " It is called self-paced learning [1].", srcs, question=q)
    assert held.grounded and not held.unsupported
    invented = cit.resolve_citations(verdict + " It is called the Fourier lock [1].", srcs, question=q)
    assert not invented.grounded and len(invented.unsupported) == 2


def test_two_words_with_a_figure_are_a_claim_the_post_passes_can_cite() -> None:
    # eval/ m009: "How many tokens does a 224 by 224 image turn into?" answered "196 tokens." alone
    srcs = [hit(1, "ViT splits a 224x224 image into 16x16 patches: 196 tokens."), hit(2, "CLIP pairs images and text.")]
    text, report = cit.check_citations("196 tokens.", srcs, question="How many tokens does a 224 by 224 image make?")
    assert text == "196 tokens [1]." and report.grounded
    assert cit.is_trivial("Yes, indeed.") and cit.is_trivial("1. LoRA.") and not cit.is_trivial("GSM8K, MATH.")


def test_two_names_are_a_claim_the_post_passes_can_cite() -> None:
    # eval/ r062: "Which feature stores are mentioned in the MLOps section?" answered "Feast, Tecton."
    # alone, without a citation; as no claim it could get none, and the answer was declined
    srcs = [hit(1, "Model registries track versions."), hit(2, "Feature stores: Feast, Tecton, Hopsworks.")]
    text, report = cit.check_citations("Feast, Tecton.", srcs, question="Which feature stores are mentioned?")
    assert text == "Feast, Tecton [2]." and report.grounded
    assert cit.is_trivial("Yes, indeed.") and cit.is_trivial("Sure, thanks.") and cit.is_trivial("Yes.")
