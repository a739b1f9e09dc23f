"""Bibliography of the walls: every equation cites one of these keys.

Each record prints as BibTeX (:func:`bibtex`) so ``mlsysim_sym.cite`` and the LaTeX report can
list exactly the sources a result depended on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Reference", "REFERENCES", "reference", "bibtex", "add", "add_all"]


@dataclass(frozen=True)
class Reference:
    key: str
    authors: str
    title: str
    venue: str
    year: int
    url: str = ""
    doi: str = ""
    kind: str = "article"  # article | inproceedings | book | misc

    def bibtex(self) -> str:
        fields = [("author", self.authors), ("title", self.title),
                  ("journal" if self.kind == "article" else
                   "booktitle" if self.kind == "inproceedings" else
                   "publisher" if self.kind == "book" else "howpublished", self.venue),
                  ("year", str(self.year))]
        if self.doi:
            fields.append(("doi", self.doi))
        if self.url:
            fields.append(("url", self.url))
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
        return f"@{self.kind}{{{self.key},\n{body}\n}}"


_REFS = [
    Reference("williams2009roofline", "Williams, Samuel and Waterman, Andrew and Patterson, David",
              "Roofline: An Insightful Visual Performance Model for Multicore Architectures",
              "Communications of the ACM 52(4)", 2009, doi="10.1145/1498765.1498785"),
    Reference("kaplan2020scaling", "Kaplan, Jared and McCandlish, Sam and Henighan, Tom and others",
              "Scaling Laws for Neural Language Models", "arXiv:2001.08361", 2020,
              url="https://arxiv.org/abs/2001.08361", kind="misc"),
    Reference("pope2023inference", "Pope, Reiner and Douglas, Sholto and Chowdhery, Aakanksha and others",
              "Efficiently Scaling Transformer Inference", "Proceedings of MLSys 2023", 2023,
              url="https://arxiv.org/abs/2211.05102", kind="inproceedings"),
    Reference("ainslie2023gqa", "Ainslie, Joshua and Lee-Thorp, James and de Jong, Michiel and others",
              "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints",
              "Proceedings of EMNLP 2023", 2023, url="https://arxiv.org/abs/2305.13245",
              kind="inproceedings"),
    Reference("dao2022flashattention", "Dao, Tri and Fu, Daniel Y. and Ermon, Stefano and Rudra, Atri and R{\\'e}, Christopher",
              "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
              "Advances in NeurIPS 35", 2022, url="https://arxiv.org/abs/2205.14135",
              kind="inproceedings"),
    Reference("kwon2023vllm", "Kwon, Woosuk and Li, Zhuohan and Zhuang, Siyuan and others",
              "Efficient Memory Management for Large Language Model Serving with PagedAttention",
              "Proceedings of SOSP 2023", 2023, doi="10.1145/3600006.3613165", kind="inproceedings"),
]

REFERENCES: dict[str, Reference] = {r.key: r for r in _REFS}


def add(ref: Reference) -> Reference:
    """Register a further reference (wall modules added later call this at import)."""
    if ref.key in REFERENCES and REFERENCES[ref.key] != ref:
        raise ValueError(f"reference key {ref.key!r} is registered twice with different content")
    REFERENCES[ref.key] = ref
    return ref


def add_all(*refs: Reference) -> None:
    """Register the references a wall module cites, at its import; a key already registered
    (by another module citing the same source) keeps its first record."""
    for ref in refs:
        if ref.key not in REFERENCES:
            add(ref)


def reference(key: str) -> Reference:
    try:
        return REFERENCES[key]
    except KeyError:
        raise KeyError(f"unknown reference {key!r}; known: {', '.join(sorted(REFERENCES))}") from None


def bibtex(keys) -> str:
    return "\n\n".join(reference(k).bibtex() for k in sorted(set(keys)))
