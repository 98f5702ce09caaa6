"""The training objectives of the families transferkit trains, one module each:

* ``skip_thought``: Skip-Thought's two conditional decoders (previous and next sentence).
* ``infersent``: InferSent's NLI classifier over sentence-pair features.
* ``quick_thought``: Quick-Thought's choice of the true context sentences.
* ``elmo``: ELMo's forward and backward language-model losses.
"""
