"""The concrete tasks: one family base class plus metadata each (no loading code).

Most tasks are a row of data: :func:`task_metadata` fills what follows from the
family and the files (the headline score, the protocol, the folds, the sample
order) and :func:`_task_class` makes the class.  Only SST2, which chooses its
train file, is written out as a class.

Names are the registry names (lookup is case-insensitive).  Row counts and sha256
of every file are the data README's (see :mod:`benchmarks.tasks._pins` and
``pins.json``).  SNLI and MultiNLI, training data in no suite, are in
:mod:`benchmarks.tasks.catalog_training`.

Example:
    >>> from benchmarks.tasks.catalog import TASKS
    >>> [t.metadata.name for t in TASKS][:4]
    ['MR', 'CR', 'SUBJ', 'MPQA']
"""

from __future__ import annotations

import os
from typing import Any, Literal

from benchmarks.tasks import base
from benchmarks.tasks._pins import FILES
from benchmarks.tasks.convert import STS_SUBSETS
from benchmarks.tasks.metadata import DataFile, Family, MainScore, TaskMetadata
from embeddings.errors import InvalidParameterError

__all__ = ["TASKS", "task_metadata"]

VERSION = "1"

SENTEVAL_ORDER_VERSION = "2"
"""Version of the tasks evaluated in SentEval's sample order (MR, CR, SUBJ, MPQA, TREC);
version 1 kept file order, which draws other folds."""


_MAIN_SCORE: dict[str, MainScore] = {
    "classification": "accuracy",
    "pair_classification": "accuracy",
    "similarity": "pearson",
    "sts": "spearman",
    "clustering": "v_measure",
}


def task_metadata(
    name: str,
    family: Family,
    description: str,
    files: dict[str, DataFile],
    *,
    dataset: str | None = None,
    version: str = VERSION,
    splits: tuple[str, ...] | None = None,
    **fields: Any,
) -> TaskMetadata:
    """The metadata of a task, with what follows from its family and files filled in.

    The splits are the file keys (unless given); the headline score is the
    family's; clustering and STS are ``unsupervised``, a single ``all`` split is
    10-fold ``cv``, anything else ``split``; tasks of
    :data:`SENTEVAL_ORDER_VERSION` are evaluated in SentEval's sample order.
    ``fields`` are the other :class:`TaskMetadata` fields (labels, homepage...).

    Example:
        >>> meta = task_metadata("MR", "classification", "polarity", _files("MR", "all"),
        ...                      version=SENTEVAL_ORDER_VERSION)
        >>> meta.eval_protocol, meta.cv_folds, meta.sample_order, meta.main_score
        ('cv', 10, 'senteval', 'accuracy')
    """
    splits = tuple(files) if splits is None else splits
    if family in ("sts", "clustering"):
        protocol = "unsupervised"
    else:
        protocol = "cv" if splits == ("all",) else "split"
    return TaskMetadata(
        name=name, version=version, family=family, description=description,
        dataset=dataset or name, files=files, splits=splits, main_score=_MAIN_SCORE[family],
        eval_protocol=protocol, cv_folds=10 if protocol == "cv" else None,
        sample_order="senteval" if version == SENTEVAL_ORDER_VERSION else "file", **fields,
    )  # fmt: skip


def _files(dataset: str, *splits: str, **names: str) -> dict[str, DataFile]:
    """``{split: FILES["<dataset>/<split>.tsv"]}``, plus ``key=file name`` pairs."""
    names = {**{s: f"{s}.tsv" for s in splits}, **names}
    return {key: FILES[f"{dataset}/{name}"] for key, name in names.items()}


def _task_class(family_base: type[base.Task], metadata: TaskMetadata) -> type[base.Task]:
    """A task class named after the task (``TREC-fine`` -> ``TRECFine``)."""
    name = "".join(part[:1].upper() + part[1:] for part in metadata.name.split("-"))
    attrs = {"metadata": metadata, "__module__": __name__, "__doc__": metadata.description}
    return type(name, (family_base,), attrs)


_SENTEVAL_BIN = "https://dl.fbaipublicfiles.com/senteval/senteval_data/datasmall_NB_ACL12.zip"
_SST_HOME = "https://nlp.stanford.edu/sentiment/"
_SST_CITE = (
    "Richard Socher, Alex Perelygin, Jean Wu, Jason Chuang, Christopher D. Manning, "
    "Andrew Ng and Christopher Potts. Recursive deep models for semantic compositionality "
    "over a sentiment treebank. EMNLP 2013."
)
_STS_HOME = "http://ixa2.si.ehu.eus/stswiki/"
_SICK_HOME = "https://marcobaroni.org/composes/sick.html"
_SICK_CITE = (
    "Marco Marelli, Stefano Menini, Marco Baroni, Luisa Bentivogli, Raffaella Bernardi and "
    "Roberto Zamparelli. A SICK cure for the evaluation of compositional distributional "
    "semantic models. LREC 2014; SemEval-2014 Task 1."
)
_SICK_URLS = tuple(
    f"http://alt.qcri.org/semeval2014/task1/data/uploads/sick_{s}.zip"
    for s in ("train", "trial", "test_annotated")
)
_TREC_HOME = "https://cogcomp.seas.upenn.edu/Data/QA/QC/"
_TREC_CITE = "Xin Li and Dan Roth. Learning question classifiers. COLING 2002."
_TREC_URLS = (_TREC_HOME + "train_5500.label", _TREC_HOME + "TREC_10.label")
_TREC_COARSE = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
_TREC_FINE = tuple(
    f"{coarse}:{fine}"
    for coarse, fines in (
        ("ABBR", "abb exp"),
        ("DESC", "def desc manner reason"),
        (
            "ENTY",
            "animal body color cremat currency dismed event food instru lang letter other "
            "plant product religion sport substance symbol techmeth termeq veh word",
        ),
        ("HUM", "desc gr ind title"),
        ("LOC", "city country mount other state"),
        (
            "NUM",
            "code count date dist money ord other perc period speed temp volsize weight",
        ),
    )
    for fine in fines.split()
)
_AG_HOME = "http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html"
_AG_CITE = (
    "Xiang Zhang, Junbo Zhao and Yann LeCun. Character-level convolutional networks for "
    "text classification. NIPS 2015."
)
_AG_LICENSE = (
    "AG corpus: provided by the academic community for research purposes in data mining, "
    "information retrieval and any other non-commercial activity (raw/readme.txt)."
)
_AG_LABELS = ("Business", "Sci/Tech", "Sports", "World")
_R8_HOME = "https://ana.cachopo.org/datasets-for-single-label-text-categorization"
_R8_CITE = (
    "Ana Cardoso-Cachopo. Improving methods for single-label text categorization. "
    "PhD thesis, IST Lisbon, 2007; Reuters-21578 Distribution 1.0 (David D. Lewis)."
)
_R8_LICENSE = "No licence statement in the source; Reuters-21578 is distributed for research use."
_R8_LABELS = ("acq", "crude", "earn", "grain", "interest", "money-fx", "ship", "trade")
_BINARY = ("0", "1")


# ---------------------------------------------------------------- classification
_PANG_LEE_HOME = "https://www.cs.cornell.edu/people/pabo/movie-review-data/"
_NO_LICENCE_FILE = "No licence file in the source repository."
_TREC_LICENSE = "No licence statement in the sources."
_SICK_LICENSE = "CC BY-NC-SA 3.0 (raw/readme.txt)."


#: the binary SentEval tasks cross-validated on one ``all`` file:
#: (name, description, homepage, licence, citation)
_SENTEVAL_CV: tuple[tuple[str, str, str, str, str], ...] = (
    ("MR", "Movie-review snippet polarity (rt-polarity v1.0); 1 = positive.", _PANG_LEE_HOME,
     "NLTK packaging note: by Bo Pang and Lillian Lee, licensed under CC BY 4.0.",
     "Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for "
     "sentiment categorization with respect to rating scales. ACL 2005."),
    ("CR", "Customer-review sentence polarity (Hu & Liu 2004); 1 = positive.",
     "https://www.cs.uic.edu/~liub/FBS/sentiment-analysis.html", _NO_LICENCE_FILE,
     "Minqing Hu and Bing Liu. Mining and summarizing customer reviews. KDD 2004."),
    ("SUBJ", "Subjectivity of movie sentences (v1.0); 1 = objective (SentEval).", _PANG_LEE_HOME,
     "Subjectivity dataset v1.0 by Bo Pang and Lillian Lee, CC BY 4.0.",
     "Bo Pang and Lillian Lee. A sentimental education: Sentiment analysis using "
     "subjectivity summarization based on minimum cuts. ACL 2004."),
    ("MPQA", "MPQA opinion phrase polarity; 1 = positive.", "https://mpqa.cs.pitt.edu/",
     _NO_LICENCE_FILE,
     "Janyce Wiebe, Theresa Wilson and Claire Cardie. Annotating expressions of "
     "opinions and emotions in language. Language Resources and Evaluation 39, 2005."),
)  # fmt: skip


def _senteval_cv(name: str, description: str, homepage: str, lic: str, cite: str) -> TaskMetadata:
    """A row of :data:`_SENTEVAL_CV` -> its metadata."""
    return task_metadata(
        name, "classification", description, _files(name, "all"),
        version=SENTEVAL_ORDER_VERSION, labels=_BINARY, homepage=homepage,
        reference_urls=(_SENTEVAL_BIN,), license=lic, citation=cite,
    )  # fmt: skip


SST2TrainFile = Literal["phrases", "sentences"]


class SST2(base.ClassificationTask):
    """Binary SST.  The train split is chosen by ``train_file``.

    Args:
        train_file: ``"phrases"`` (default, what SentEval and GLUE train on: 67349
            sentences and sub-phrases, ``train_phrases.tsv``) or ``"sentences"``
            (6920 full sentences, ``train.tsv``, as in Kim 2014).  Dev and test are the
            sentence-level 872 / 1821 either way.
        data_dir: Folder to read from instead of the default data folder.

    Example:
        >>> SST2(train_file="sentences")
        SST2(train_file='sentences')
    """

    metadata = task_metadata(
        "SST2", "classification",
        "Stanford Sentiment Treebank, binary, sentence-level dev/test; 1 = positive.",
        _files("SST2", train="train_phrases.tsv", train_sentences="train.tsv", dev="dev.tsv",
               test="test.tsv"),
        splits=("train", "dev", "test"), labels=_BINARY, homepage=_SST_HOME,
        reference_urls=(
            "https://raw.githubusercontent.com/PrincetonML/SIF/master/data/sentiment-train",
        ),
        license="No licence file in either source repository.", citation=_SST_CITE,
    )  # fmt: skip

    def __init__(
        self,
        *,
        train_file: SST2TrainFile = "phrases",
        data_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(data_dir=data_dir)
        self.train_file = train_file

    def get_params(self) -> dict[str, object]:
        return {"train_file": self.train_file, **super().get_params()}

    def _file_key(self, split: str, subset: str | None) -> str:
        if self.train_file not in ("phrases", "sentences"):
            raise InvalidParameterError(
                f"SST2 train_file must be 'phrases' or 'sentences', got {self.train_file!r}"
            )
        if split == "train" and self.train_file == "sentences":
            return "train_sentences"
        return super()._file_key(split, subset)

    def __repr__(self) -> str:
        return f"SST2(train_file={self.train_file!r})"


_SST5 = task_metadata(
    "SST5", "classification",
    "Stanford Sentiment Treebank, 5 classes (0 very negative .. 4 very positive).",
    _files("SST5", "train", "dev", "test"), labels=("0", "1", "2", "3", "4"),
    homepage=_SST_HOME, license=_NO_LICENCE_FILE, citation=_SST_CITE,
    reference_urls=(
        "https://raw.githubusercontent.com/AcademiaSinicaNLPLab/sentiment_dataset/master/data/",
    ),
)  # fmt: skip
_TREC_SOURCE: dict[str, Any] = {
    "homepage": _TREC_HOME, "reference_urls": _TREC_URLS, "license": _TREC_LICENSE,
    "citation": _TREC_CITE,
}  # fmt: skip
_AG_SOURCE: dict[str, Any] = {"homepage": _AG_HOME, "license": _AG_LICENSE, "citation": _AG_CITE}
_R8_SOURCE: dict[str, Any] = {"homepage": _R8_HOME, "license": _R8_LICENSE, "citation": _R8_CITE}
_SICK_SOURCE: dict[str, Any] = {
    "homepage": _SICK_HOME, "reference_urls": _SICK_URLS, "license": _SICK_LICENSE,
    "citation": _SICK_CITE,
}  # fmt: skip

_CLASSIFICATION = (
    *(_senteval_cv(*row) for row in _SENTEVAL_CV), None, _SST5,  # None: SST2, a class
    task_metadata(
        "TREC", "classification", "TREC question type, 6 coarse classes (TREC 10 test set).",
        _files("TREC", "train", "test"), version=SENTEVAL_ORDER_VERSION, labels=_TREC_COARSE,
        **_TREC_SOURCE,
    ),
    task_metadata(
        "TREC-fine", "classification",
        "TREC question type, 50 fine classes 'COARSE:fine' (42 occur in test).",
        _files("TREC", train="train_fine.tsv", test="test_fine.tsv"), dataset="TREC",
        labels=_TREC_FINE, **_TREC_SOURCE,
    ),
    task_metadata(
        "AGNews", "classification",
        "AG News topic (4 classes), cross-validated on the official 7600-row test split "
        "(split 'all'; the train split is not included).",
        _files("AGNews", all="test.tsv"), labels=_AG_LABELS, **_AG_SOURCE,
    ),
    task_metadata(
        "R8", "classification", "Reuters-21578 R8 topic (8 classes, ModApte, Cachopo all-terms).",
        _files("R8", "train", "test"), labels=_R8_LABELS, **_R8_SOURCE,
    ),
)  # fmt: skip


# ---------------------------------------------------------------- pairs
_PAIRS = (
    task_metadata(
        "MRPC", "pair_classification", "Microsoft Research Paraphrase Corpus; 1 = paraphrase.",
        _files("MRPC", "train", "test"), labels=_BINARY,
        homepage="https://www.microsoft.com/en-us/download/details.aspx?id=52398",
        reference_urls=(
            "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_train.txt",
            "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_test.txt",
        ),
        license="Microsoft Research Shared Source License: non-commercial use, copying and "
        "distribution only (raw/LICENCE.html).",
        citation="Bill Dolan, Chris Quirk and Chris Brockett. Unsupervised construction of "
        "large paraphrase corpora. COLING 2004.",
    ),
    task_metadata(
        "SICK-E", "pair_classification", "SICK entailment, 3 classes; dev = the SemEval trial set.",
        _files("SICK-E", "train", "dev", "test"),
        labels=("CONTRADICTION", "ENTAILMENT", "NEUTRAL"), **_SICK_SOURCE,
    ),
    task_metadata(
        "SICK-R", "similarity",
        "SICK relatedness, score 1-5, trained regressor; dev = the trial set.",
        _files("SICK-R", "train", "dev", "test"), **_SICK_SOURCE,
    ),
    task_metadata(
        "STS-B", "similarity",
        "STS Benchmark, score 0-5, trained regressor (SentEval STSBenchmark).",
        _files("STS-B", "train", "dev", "test"), homepage=_STS_HOME + "index.php/STSbenchmark",
        reference_urls=("http://ixa2.si.ehu.es/stswiki/images/4/48/Stsbenchmark.tar.gz",),
        license="Scores CC BY-SA 4.0; texts keep their own licences (MSR, EMM headlines, "
        "CC BY-SA images, StackExchange CC BY-SA 3.0) (raw/LICENSE.txt).",
        citation="Daniel Cer, Mona Diab, Eneko Agirre, Iñigo Lopez-Gazpio and Lucia Specia. "
        "SemEval-2017 Task 1: Semantic textual similarity multilingual and cross-lingual "
        "focused evaluation. SemEval 2017.",
    ),
)  # fmt: skip


# ---------------------------------------------------------------- STS 2012-2016

_STS_INFO: dict[str, tuple[str, str, str]] = {
    "STS12": (
        "SemEval-2012 Task 6 test sets",
        "http://ixa2.si.ehu.es/stswiki/images/4/40/STS2012-en-test.zip",
        "Eneko Agirre, Daniel Cer, Mona Diab and Aitor Gonzalez-Agirre. SemEval-2012 Task 6: "
        "A pilot on semantic textual similarity. *SEM 2012.",
    ),
    "STS13": (
        "*SEM 2013 shared task test sets (SMT subset omitted: LDC-licensed, as in SentEval)",
        "http://ixa2.si.ehu.es/stswiki/images/2/2f/STS2013-en-test.zip",
        "Eneko Agirre, Daniel Cer, Mona Diab, Aitor Gonzalez-Agirre and Weiwei Guo. *SEM 2013 "
        "shared task: Semantic textual similarity. *SEM 2013.",
    ),
    "STS14": (
        "SemEval-2014 Task 10 English test sets",
        "http://ixa2.si.ehu.es/stswiki/images/8/8c/STS2014-en-test.zip",
        "Eneko Agirre et al. SemEval-2014 Task 10: Multilingual semantic textual similarity. "
        "SemEval 2014.",
    ),
    "STS15": (
        "SemEval-2015 Task 2a English test sets (pairs with a gold score)",
        "http://ixa2.si.ehu.es/stswiki/images/d/da/STS2015-en-test.zip",
        "Eneko Agirre et al. SemEval-2015 Task 2: Semantic textual similarity, English, "
        "Spanish and pilot on interpretability. SemEval 2015.",
    ),
    "STS16": (
        "SemEval-2016 Task 1 English test sets (pairs with a gold score)",
        "http://ixa2.si.ehu.es/stswiki/images/9/98/STS2016-en-test.zip",
        "Eneko Agirre et al. SemEval-2016 Task 1: Semantic textual similarity, monolingual "
        "and cross-lingual evaluation. SemEval 2016.",
    ),
}


def _sts_metadata(year: str) -> TaskMetadata:
    description, url, citation = _STS_INFO[year]
    subsets = STS_SUBSETS[year]
    return task_metadata(
        year, "sts", f"{description}; cosine similarity vs gold 0-5, per subset.",
        _files(year, **{f"test_{s}": f"test_{s}.tsv" for s in subsets}), splits=("test",),
        subsets=subsets, homepage=_STS_HOME, reference_urls=(url,), citation=citation,
        license="See the release readme/licence files under raw/ (per-source terms; e.g. "
        "StackExchange texts CC BY-SA 3.0).",
    )  # fmt: skip


# ---------------------------------------------------------------- clustering
_CLUSTERING = (
    task_metadata(
        "TRECClustering", "clustering", "Cluster TREC questions into the 6 coarse question types.",
        _files("TREC", "train", "test"), dataset="TREC", labels=_TREC_COARSE, **_TREC_SOURCE,
    ),
    task_metadata(
        "AGNewsClustering", "clustering",
        "Cluster the 7600 AG News test articles into the 4 topics.",
        _files("AGNews", "test"), dataset="AGNews", labels=_AG_LABELS, **_AG_SOURCE,
    ),
    task_metadata(
        "R8Clustering", "clustering", "Cluster Reuters R8 documents into the 8 topics.",
        _files("R8", "train", "test"), dataset="R8", labels=_R8_LABELS, **_R8_SOURCE,
    ),
)  # fmt: skip

_BASES: dict[str, type[base.Task]] = {
    "classification": base.ClassificationTask,
    "pair_classification": base.PairClassificationTask,
    "similarity": base.SimilarityTask,
    "sts": base.STSTask,
    "clustering": base.ClusteringTask,
}

TASKS: tuple[type[base.Task], ...] = tuple(
    SST2 if meta is None else _task_class(_BASES[meta.family], meta)
    for meta in (*_CLASSIFICATION, *_PAIRS, *(_sts_metadata(y) for y in _STS_INFO), *_CLUSTERING)
)
"""Every registered task class, in display order."""
