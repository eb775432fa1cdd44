"""programs/translate.rasp on its corpus (programs/corpora/en_fr.tsv) and on new sentences of
the same fragment, by the interpreter, and compiled on a small vocabulary."""

from pathlib import Path

import pytest

import rasp
from rasp.eval import read_corpus

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "programs" / "translate.rasp"
CORPUS = ROOT / "programs" / "corpora" / "en_fr.tsv"

# Sentences of the fragment that the corpus does not hold: new combinations of its nouns,
# adjectives, verbs, pronouns, determiners and constructions, and words only the lexicon has.
NEW_SENTENCES = [
    ("the red cars of my friends are in the garden", "les voitures rouges de mes amis sont dans le jardin"),
    ("I do not like her", "je ne l' aime pas"),
    ("she likes me", "elle m' aime"),
    ("I see you", "je vous vois"),
    ("the big black happy dog sleeps", "le grand chien noir heureux dort"),
    ("this orange is good", "cette orange est bonne"),
    ("the student writes a letter to the queen", "l' étudiant écrit une lettre à la reine"),
    ("we do not buy an egg", "nous n' achetons pas d' œuf"),
    ("the hat of the king is blue", "le chapeau du roi est bleu"),
    ("he gives the cakes to the animals", "il donne les gâteaux aux animaux"),
    ("I open the door", "j' ouvre la porte"),
    ("the women of the island are strong", "les femmes de l' île sont fortes"),
    ("their small dogs are white", "leurs petits chiens sont blancs"),
    ("he does not give the apple to the horse", "il ne donne pas la pomme au cheval"),
    ("my big brother watches the planes", "mon grand frère regarde les avions"),
]


def read_pairs(path):
    """(english words, french words) per example, read by `rasp eval`'s corpus reader."""
    return [(list(e.words), list(e.expected)) for e in read_corpus(str(path))]


def without_filler(output):
    return [w for w in output if w != "_"]


@pytest.fixture(scope="module")
def program():
    return rasp.load(PROGRAM)


def test_corpus_is_big_varied_and_never_longer_in_french():
    pairs = read_pairs(CORPUS)
    assert len(pairs) >= 150
    assert all(len(french) <= len(english) for english, french in pairs)
    french_words = {w for _, french in pairs for w in french}
    for construction in ["l'", "j'", "n'", "d'", "du", "des", "au", "aux", "cet", "cette", "ces", "pas", "sa", "son"]:
        assert construction in french_words


def test_translates_the_whole_corpus(program):
    pairs = read_pairs(CORPUS)
    outputs = program.batch([english for english, _ in pairs])
    wrong = [(e, f, o) for (e, f), o in zip(pairs, outputs) if without_filler(o) != f]
    assert all(len(o) == len(e) for (e, _), o in zip(pairs, outputs))
    assert wrong == []


@pytest.mark.parametrize("english, french", NEW_SENTENCES)
def test_translates_new_sentences(program, english, french):
    assert without_filler(program(english.split(" "))) == french.split(" ")


def test_compiled_model_translates_like_the_interpreter(program):
    pytest.importorskip("torch")
    sentences = [
        "the dog of the man sleeps", "she does not see him", "the black cat sees a small bird",
        "I do not have a dog", "he gives the book to the boy",
    ]
    inputs = [s.split(" ") for s in sentences]
    vocab = sorted({w for s in inputs for w in s})
    model = rasp.compile(program, vocab=vocab, max_len=max(len(s) for s in inputs))
    assert model.run_batch(inputs) == program.batch(inputs)
    assert [" ".join(without_filler(o)) for o in model.run_batch(inputs)] == [
        "le chien de l' homme dort", "elle ne le voit pas", "le chat noir voit un petit oiseau",
        "je n' ai pas de chien", "il donne le livre au garçon",
    ]
