"""scikit-learn's parameter protocol for encoders, without importing scikit-learn.

``clone``, ``GridSearchCV`` and nested ``step__param`` names only need ``get_params``
and ``set_params`` (scikit-learn's estimator API, "Developing scikit-learn
estimators"); :class:`ParamsMixin` provides them, a repr that shows the parameters
that differ from their defaults, and ``__sklearn_tags__`` (which imports
scikit-learn only when scikit-learn asks).  Encoding therefore does not import
scikit-learn, SciPy and pandas (about 140 MiB of memory and a second of start-up);
:mod:`embeddings.sklearn` and the heads import them when they are used.

Example:
    >>> from sklearn.base import clone
    >>> class Scaler(ParamsMixin):
    ...     def __init__(self, *, factor: float = 2.0, shift: float = 0.0) -> None:
    ...         self.factor, self.shift = factor, shift
    >>> s = Scaler(factor=3.0)
    >>> s, s.get_params(), clone(s).set_params(shift=1.0)
    (Scaler(factor=3.0), {'factor': 3.0, 'shift': 0.0}, Scaler(factor=3.0, shift=1.0))
"""

from __future__ import annotations

import inspect
from typing import Any

from embeddings.errors import InvalidParameterError

__all__ = ["ParamsMixin"]

#: the longest repr before its middle is elided (scikit-learn's limit too)
_MAX_REPR = 700


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if default is inspect.Parameter.empty or type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays and other values without a plain truth
        return False


class ParamsMixin:
    """``get_params``/``set_params``, repr and tags over the constructor's parameters.

    The parameters are the keyword parameters of ``__init__``, stored under their own
    names (see :func:`embeddings._params.store_params`).

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("glove-6b-50d")
        >>> enc.set_params(pooling="max").get_params()["pooling"]
        'max'
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ takes *args; estimators may not")
            if p.name != "self" and p.kind is not p.VAR_KEYWORD:
                names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters; with ``deep``, also ``name__param`` of nested
        estimators (an encoder parameter that is itself an encoder).

        Example:
            >>> import embeddings
            >>> sorted(embeddings.load("tfidf").get_params())[:2]
            ['lowercase', 'max_features']
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Any:
        """Set parameters (``name__param`` reaches into a nested estimator); returns self.

        Raises:
            InvalidParameterError: a name that is not a parameter.

        Example:
            >>> import embeddings
            >>> embeddings.load("glove-6b-50d").set_params(pooling="max").pooling
            'max'
        """
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise InvalidParameterError(
                    f"{name!r} is not a parameter of {type(self).__name__}; its parameters "
                    f"are {self._get_param_names()}"
                )
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        init = inspect.signature(type(self).__init__).parameters
        shown = [
            f"{name}={value!r}"
            for name, value in self.get_params(deep=False).items()
            if not _is_default(value, init[name].default)
        ]
        text = f"{type(self).__name__}({', '.join(shown)})"
        if len(text) > _MAX_REPR:
            half = _MAX_REPR // 2
            text = f"{text[:half]}...{text[-half:]}"
        return text

    def __sklearn_clone__(self) -> Any:
        """``sklearn.base.clone``: a new instance with clones of the parameters and no
        fitted state (nested estimators are cloned, other values deep-copied)."""
        from sklearn.base import clone

        params = {k: clone(v, safe=False) for k, v in self.get_params(deep=False).items()}
        return type(self)(**params)

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))
