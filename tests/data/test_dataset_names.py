"""Dataset names as the issues and papers spell them (case, '-' and '_' ignored)."""
import pytest

from chainrule.data.datasets import canonical_name, dataset_info


@pytest.mark.parametrize("given, name", [
    ("fashion-mnist", "fashion_mnist"), ("Fashion-MNIST", "fashion_mnist"),
    ("wikitext-2", "wikitext2"), ("CIFAR-10", "cifar10"), ("mnist", "mnist"),
    ("kaggle-house", "kaggle_house"), ("nope", "nope")])
def test_canonical_name(given, name):
    assert canonical_name(given) == name


def test_lookups_accept_the_spellings():
    assert dataset_info("Fashion-MNIST")["name"] == "fashion_mnist"


def test_cli_accepts_the_spellings(tmp_path, capsys):
    from chainrule.cli import main
    code = main(["train", "mlp", "--data", "Digits", "--epochs", "1", "--no-progress",
                 "--quiet", "--out", str(tmp_path / "run")])
    assert code == 0 and (tmp_path / "run" / "last.ckpt").exists()


@pytest.mark.parametrize("given, name", [
    ("time_machine", "timemachine"), ("WikiText-2", "wikitext2"), ("wikitext_2", "wikitext2"),
    ("Jay_Chou", "jaychou"), ("jaychou_lyrics", "jaychou"), ("Penn_Treebank", "ptb")])
def test_corpus_names(given, name):
    from chainrule.text.corpora import get_corpus_class
    assert get_corpus_class(given).name == name


def test_python_api_accepts_the_spellings():
    from chainrule.train.lm_recipes import is_lm_data
    from chainrule.train.recipes import get_recipe
    assert get_recipe("Fashion-MNIST").task == "classification"
    assert is_lm_data("WikiText-2")
