"""The menus' garbage loop: which words it has, and the finite-state grammar it is decoded with."""

from __future__ import annotations

from cti.speech.asr import MAIN_MENU, YES_NO, PocketSphinxOptions, grammar
from cti.speech.asr._garbage import FILLER_WORDS, GARBAGE_WORDS, filler_words, garbage_words
from cti.speech.asr._pocketsphinx import _garbage_fsg


def test_a_menus_own_words_are_never_garbage() -> None:
    g = grammar(YES_NO, "id")
    assert "ya" in GARBAGE_WORDS["id"] and "ya" in FILLER_WORDS["id"]
    assert "ya" not in garbage_words("id", g.words)
    assert "ya" not in filler_words("id", g.words)
    assert "saya" in filler_words("id", g.words)  # "iya saya"
    assert "please" in filler_words("en", grammar(MAIN_MENU, "en").words)  # "uh balance please"


def test_the_lists_have_no_repeats() -> None:
    for words in (*GARBAGE_WORDS.values(), *FILLER_WORDS.values()):
        assert len(words) == len(set(words))


def _transitions(fsg: str) -> list[tuple[int, int, float, str | None]]:
    out: list[tuple[int, int, float, str | None]] = []
    for line in fsg.splitlines():
        if line.startswith("TRANSITION"):
            parts = line.split()
            out.append((int(parts[1]), int(parts[2]), float(parts[3]), parts[4] if len(parts) > 4 else None))
    return out


def _paths(fsg: str, limit: int = 6) -> set[tuple[str, ...]]:
    """Every word sequence from the start (0) to the final state (1) of at most ``limit`` words."""
    edges = _transitions(fsg)
    found: set[tuple[str, ...]] = set()
    stack: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    seen: set[tuple[int, tuple[str, ...]]] = set()
    while stack:
        here, words = stack.pop()
        if (here, words) in seen or len(words) > limit:
            continue
        seen.add((here, words))
        if here == 1:
            found.add(words)
        stack.extend((b, words + ((w,) if w else ())) for a, b, _, w in edges if a == here)
    return found


def test_the_grammar_is_a_phrase_with_fillers_or_the_loop() -> None:
    g = grammar(YES_NO, "en")
    options = PocketSphinxOptions(garbage=True, filler_words=1, garbage_word_weight=(("en", 1e-3),),
                                  filler_weight=1e-2)
    fsg = _garbage_fsg(g, "en", ("hello", "the"), ("uh", "please"), options)
    assert fsg.startswith("FSG_BEGIN cti\n") and fsg.endswith("FSG_END\n")
    paths = _paths(fsg, limit=3)
    assert ("that's", "right") in paths
    assert ("uh_gb", "yes", "please_gb") in paths
    assert ("hello_gb",) in paths and ("hello_gb", "the_gb", "hello_gb") in paths
    assert ("uh_gb", "uh_gb", "yes") not in paths  # one filler on each side at most
    assert ("hello_gb", "yes") not in paths  # the loop's words are not fillers
    assert not any(p and p[0] == "uh_gb" and len(p) == 1 for p in paths)  # fillers alone are no answer
    weights = {w: p for _, _, p, w in _transitions(fsg) if w}
    assert weights["hello_gb"] == 1e-3 and weights["uh_gb"] == 1e-2 and weights["yes"] == 1.0


def test_a_loop_likelier_than_the_menu_lowers_the_menu() -> None:
    g = grammar(YES_NO, "en")
    fsg = _garbage_fsg(g, "en", ("hello",), (), PocketSphinxOptions(garbage=True, garbage_weight=10.0))
    entries = [p for a, _, p, w in _transitions(fsg) if a == 0 and w is None]
    assert sorted(entries) == [0.1, 1.0]  # PocketSphinx crashes on a probability above 1


def test_each_language_has_its_own_word_cost() -> None:
    """Chosen on the development set (docs/speech.md): a cheaper loop for Indonesian, whose answers it spared."""
    options = PocketSphinxOptions()
    assert (options.word_weight("id"), options.word_weight("en")) == (1e-3, 1e-4)
    g = grammar(YES_NO, "id")
    weights = {w: p for _, _, p, w in _transitions(_garbage_fsg(g, "id", ("apa",), (), options)) if w}
    assert weights["apa_id_gb"] == 1e-3
    assert PocketSphinxOptions(garbage_word_weight=()).word_weight("en") == 1e-4
    assert PocketSphinxOptions().garbage_languages == ("id",)  # English: it cost right answers and decision time
