"""The concrete tasks: one family base class plus metadata each (no loading code).

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
from typing import Literal

from benchmarks.tasks._pins import FILES
from benchmarks.tasks.base import (
    ClassificationTask,
    ClusteringTask,
    PairClassificationTask,
    SimilarityTask,
    STSTask,
    Task,
)
from benchmarks.tasks.convert import STS_SUBSETS
from benchmarks.tasks.metadata import DataFile, TaskMetadata
from embeddings.errors import InvalidParameterError

__all__ = ["TASKS"]

VERSION = "1"

SENTEVAL_ORDER_VERSION = "2"
"""Version of the tasks evaluated in SentEval's sample order (MR, CR, SUBJ, MPQA, TREC);
version 1 kept file order, which draws other folds."""


def _files(dataset: str, **names: str) -> dict[str, DataFile]:
    """``{key: FILES["<dataset>/<file name>"]}`` for ``key=file name`` pairs."""
    return {key: FILES[f"{dataset}/{name}"] for key, name in names.items()}


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


class MR(ClassificationTask):
    metadata = TaskMetadata(
        name="MR",
        version=SENTEVAL_ORDER_VERSION,
        family="classification",
        description="Movie-review snippet polarity (rt-polarity v1.0); 1 = positive.",
        dataset="MR",
        files=_files("MR", all="all.tsv"),
        splits=("all",),
        main_score="accuracy",
        eval_protocol="cv",
        labels=_BINARY,
        cv_folds=10,
        sample_order="senteval",
        homepage="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
        reference_urls=(_SENTEVAL_BIN,),
        license="NLTK packaging note: by Bo Pang and Lillian Lee, licensed under CC BY 4.0.",
        citation=(
            "Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for "
            "sentiment categorization with respect to rating scales. ACL 2005."
        ),
    )


class CR(ClassificationTask):
    metadata = TaskMetadata(
        name="CR",
        version=SENTEVAL_ORDER_VERSION,
        family="classification",
        description="Customer-review sentence polarity (Hu & Liu 2004); 1 = positive.",
        dataset="CR",
        files=_files("CR", all="all.tsv"),
        splits=("all",),
        main_score="accuracy",
        eval_protocol="cv",
        labels=_BINARY,
        cv_folds=10,
        sample_order="senteval",
        homepage="https://www.cs.uic.edu/~liub/FBS/sentiment-analysis.html",
        reference_urls=(_SENTEVAL_BIN,),
        license="No licence file in the source repository.",
        citation=("Minqing Hu and Bing Liu. Mining and summarizing customer reviews. KDD 2004."),
    )


class SUBJ(ClassificationTask):
    metadata = TaskMetadata(
        name="SUBJ",
        version=SENTEVAL_ORDER_VERSION,
        family="classification",
        description="Subjectivity of movie sentences (v1.0); 1 = objective (SentEval).",
        dataset="SUBJ",
        files=_files("SUBJ", all="all.tsv"),
        splits=("all",),
        main_score="accuracy",
        eval_protocol="cv",
        labels=_BINARY,
        cv_folds=10,
        sample_order="senteval",
        homepage="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
        reference_urls=(_SENTEVAL_BIN,),
        license="Subjectivity dataset v1.0 by Bo Pang and Lillian Lee, CC BY 4.0.",
        citation=(
            "Bo Pang and Lillian Lee. A sentimental education: Sentiment analysis using "
            "subjectivity summarization based on minimum cuts. ACL 2004."
        ),
    )


class MPQA(ClassificationTask):
    metadata = TaskMetadata(
        name="MPQA",
        version=SENTEVAL_ORDER_VERSION,
        family="classification",
        description="MPQA opinion phrase polarity; 1 = positive.",
        dataset="MPQA",
        files=_files("MPQA", all="all.tsv"),
        splits=("all",),
        main_score="accuracy",
        eval_protocol="cv",
        labels=_BINARY,
        cv_folds=10,
        sample_order="senteval",
        homepage="https://mpqa.cs.pitt.edu/",
        reference_urls=(_SENTEVAL_BIN,),
        license="No licence file in the source repository.",
        citation=(
            "Janyce Wiebe, Theresa Wilson and Claire Cardie. Annotating expressions of "
            "opinions and emotions in language. Language Resources and Evaluation 39, 2005."
        ),
    )


SST2TrainFile = Literal["phrases", "sentences"]


class SST2(ClassificationTask):
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

    metadata = TaskMetadata(
        name="SST2",
        version=VERSION,
        family="classification",
        description="Stanford Sentiment Treebank, binary, sentence-level dev/test; 1 = positive.",
        dataset="SST2",
        files=_files(
            "SST2",
            train="train_phrases.tsv",
            train_sentences="train.tsv",
            dev="dev.tsv",
            test="test.tsv",
        ),
        splits=("train", "dev", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=_BINARY,
        homepage=_SST_HOME,
        reference_urls=(
            "https://raw.githubusercontent.com/PrincetonML/SIF/master/data/sentiment-train",
        ),
        license="No licence file in either source repository.",
        citation=_SST_CITE,
    )

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


class SST5(ClassificationTask):
    metadata = TaskMetadata(
        name="SST5",
        version=VERSION,
        family="classification",
        description="Stanford Sentiment Treebank, 5 classes (0 very negative .. 4 very positive).",
        dataset="SST5",
        files=_files("SST5", train="train.tsv", dev="dev.tsv", test="test.tsv"),
        splits=("train", "dev", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=("0", "1", "2", "3", "4"),
        homepage=_SST_HOME,
        reference_urls=(
            "https://raw.githubusercontent.com/AcademiaSinicaNLPLab/sentiment_dataset/master/data/",
        ),
        license="No licence file in the source repository.",
        citation=_SST_CITE,
    )


class TREC(ClassificationTask):
    metadata = TaskMetadata(
        name="TREC",
        version=SENTEVAL_ORDER_VERSION,
        family="classification",
        description="TREC question type, 6 coarse classes (TREC 10 test set).",
        dataset="TREC",
        files=_files("TREC", train="train.tsv", test="test.tsv"),
        splits=("train", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=_TREC_COARSE,
        sample_order="senteval",
        homepage=_TREC_HOME,
        reference_urls=_TREC_URLS,
        license="No licence statement in the sources.",
        citation=_TREC_CITE,
    )


class TRECFine(ClassificationTask):
    metadata = TaskMetadata(
        name="TREC-fine",
        version=VERSION,
        family="classification",
        description="TREC question type, 50 fine classes 'COARSE:fine' (42 occur in test).",
        dataset="TREC",
        files=_files("TREC", train="train_fine.tsv", test="test_fine.tsv"),
        splits=("train", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=_TREC_FINE,
        homepage=_TREC_HOME,
        reference_urls=_TREC_URLS,
        license="No licence statement in the sources.",
        citation=_TREC_CITE,
    )


class AGNews(ClassificationTask):
    metadata = TaskMetadata(
        name="AGNews",
        version=VERSION,
        family="classification",
        description=(
            "AG News topic (4 classes), cross-validated on the official 7600-row test split "
            "(split 'all'; the train split is not included)."
        ),
        dataset="AGNews",
        files=_files("AGNews", all="test.tsv"),
        splits=("all",),
        main_score="accuracy",
        eval_protocol="cv",
        labels=_AG_LABELS,
        cv_folds=10,
        homepage=_AG_HOME,
        license=_AG_LICENSE,
        citation=_AG_CITE,
    )


class R8(ClassificationTask):
    metadata = TaskMetadata(
        name="R8",
        version=VERSION,
        family="classification",
        description="Reuters-21578 R8 topic (8 classes, ModApte, Cachopo all-terms).",
        dataset="R8",
        files=_files("R8", train="train.tsv", test="test.tsv"),
        splits=("train", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=_R8_LABELS,
        homepage=_R8_HOME,
        license=_R8_LICENSE,
        citation=_R8_CITE,
    )


# ---------------------------------------------------------------- pairs


class MRPC(PairClassificationTask):
    metadata = TaskMetadata(
        name="MRPC",
        version=VERSION,
        family="pair_classification",
        description="Microsoft Research Paraphrase Corpus; 1 = paraphrase.",
        dataset="MRPC",
        files=_files("MRPC", train="train.tsv", test="test.tsv"),
        splits=("train", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=_BINARY,
        homepage="https://www.microsoft.com/en-us/download/details.aspx?id=52398",
        reference_urls=(
            "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_train.txt",
            "https://dl.fbaipublicfiles.com/senteval/senteval_data/msr_paraphrase_test.txt",
        ),
        license=(
            "Microsoft Research Shared Source License: non-commercial use, copying and "
            "distribution only (raw/LICENCE.html)."
        ),
        citation=(
            "Bill Dolan, Chris Quirk and Chris Brockett. Unsupervised construction of large "
            "paraphrase corpora. COLING 2004."
        ),
    )


class SICKE(PairClassificationTask):
    metadata = TaskMetadata(
        name="SICK-E",
        version=VERSION,
        family="pair_classification",
        description="SICK entailment, 3 classes; dev = the SemEval trial set.",
        dataset="SICK-E",
        files=_files("SICK-E", train="train.tsv", dev="dev.tsv", test="test.tsv"),
        splits=("train", "dev", "test"),
        main_score="accuracy",
        eval_protocol="split",
        labels=("CONTRADICTION", "ENTAILMENT", "NEUTRAL"),
        homepage=_SICK_HOME,
        reference_urls=_SICK_URLS,
        license="CC BY-NC-SA 3.0 (raw/readme.txt).",
        citation=_SICK_CITE,
    )


class SICKR(SimilarityTask):
    metadata = TaskMetadata(
        name="SICK-R",
        version=VERSION,
        family="similarity",
        description="SICK relatedness, score 1-5, trained regressor; dev = the trial set.",
        dataset="SICK-R",
        files=_files("SICK-R", train="train.tsv", dev="dev.tsv", test="test.tsv"),
        splits=("train", "dev", "test"),
        main_score="pearson",
        eval_protocol="split",
        homepage=_SICK_HOME,
        reference_urls=_SICK_URLS,
        license="CC BY-NC-SA 3.0 (raw/readme.txt).",
        citation=_SICK_CITE,
    )


class STSB(SimilarityTask):
    metadata = TaskMetadata(
        name="STS-B",
        version=VERSION,
        family="similarity",
        description="STS Benchmark, score 0-5, trained regressor (SentEval STSBenchmark).",
        dataset="STS-B",
        files=_files("STS-B", train="train.tsv", dev="dev.tsv", test="test.tsv"),
        splits=("train", "dev", "test"),
        main_score="pearson",
        eval_protocol="split",
        homepage=_STS_HOME + "index.php/STSbenchmark",
        reference_urls=("http://ixa2.si.ehu.es/stswiki/images/4/48/Stsbenchmark.tar.gz",),
        license=(
            "Scores CC BY-SA 4.0; texts keep their own licences (MSR, EMM headlines, "
            "CC BY-SA images, StackExchange CC BY-SA 3.0) (raw/LICENSE.txt)."
        ),
        citation=(
            "Daniel Cer, Mona Diab, Eneko Agirre, Iñigo Lopez-Gazpio and Lucia Specia. "
            "SemEval-2017 Task 1: Semantic textual similarity multilingual and cross-lingual "
            "focused evaluation. SemEval 2017."
        ),
    )


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
    return TaskMetadata(
        name=year,
        version=VERSION,
        family="sts",
        description=f"{description}; cosine similarity vs gold 0-5, per subset.",
        dataset=year,
        files=_files(year, **{f"test_{s}": f"test_{s}.tsv" for s in subsets}),
        splits=("test",),
        main_score="spearman",
        eval_protocol="unsupervised",
        subsets=subsets,
        homepage=_STS_HOME,
        reference_urls=(url,),
        license=(
            "See the release readme/licence files under raw/ (per-source terms; e.g. "
            "StackExchange texts CC BY-SA 3.0)."
        ),
        citation=citation,
    )


class STS12(STSTask):
    metadata = _sts_metadata("STS12")


class STS13(STSTask):
    metadata = _sts_metadata("STS13")


class STS14(STSTask):
    metadata = _sts_metadata("STS14")


class STS15(STSTask):
    metadata = _sts_metadata("STS15")


class STS16(STSTask):
    metadata = _sts_metadata("STS16")


# ---------------------------------------------------------------- clustering


class TRECClustering(ClusteringTask):
    metadata = TaskMetadata(
        name="TRECClustering",
        version=VERSION,
        family="clustering",
        description="Cluster TREC questions into the 6 coarse question types.",
        dataset="TREC",
        files=_files("TREC", train="train.tsv", test="test.tsv"),
        splits=("train", "test"),
        main_score="v_measure",
        eval_protocol="unsupervised",
        labels=_TREC_COARSE,
        homepage=_TREC_HOME,
        reference_urls=_TREC_URLS,
        license="No licence statement in the sources.",
        citation=_TREC_CITE,
    )


class AGNewsClustering(ClusteringTask):
    metadata = TaskMetadata(
        name="AGNewsClustering",
        version=VERSION,
        family="clustering",
        description="Cluster the 7600 AG News test articles into the 4 topics.",
        dataset="AGNews",
        files=_files("AGNews", test="test.tsv"),
        splits=("test",),
        main_score="v_measure",
        eval_protocol="unsupervised",
        labels=_AG_LABELS,
        homepage=_AG_HOME,
        license=_AG_LICENSE,
        citation=_AG_CITE,
    )


class R8Clustering(ClusteringTask):
    metadata = TaskMetadata(
        name="R8Clustering",
        version=VERSION,
        family="clustering",
        description="Cluster Reuters R8 documents into the 8 topics.",
        dataset="R8",
        files=_files("R8", train="train.tsv", test="test.tsv"),
        splits=("train", "test"),
        main_score="v_measure",
        eval_protocol="unsupervised",
        labels=_R8_LABELS,
        homepage=_R8_HOME,
        license=_R8_LICENSE,
        citation=_R8_CITE,
    )


TASKS: tuple[type[Task], ...] = (
    MR,
    CR,
    SUBJ,
    MPQA,
    SST2,
    SST5,
    TREC,
    TRECFine,
    AGNews,
    R8,
    MRPC,
    SICKE,
    SICKR,
    STSB,
    STS12,
    STS13,
    STS14,
    STS15,
    STS16,
    TRECClustering,
    AGNewsClustering,
    R8Clustering,
)
"""Every registered task class, in display order."""
