"""benchmarks/span_filter_fit.py: what counts as bad, and where the threshold falls."""

from __future__ import annotations

import numpy as np


def test_bad_is_a_wrong_type_or_no_fact_slot() -> None:
    from span_filter_fit import is_bad

    base = {"current_type": "PLACE", "label_type": "PLACE", "salient": True}
    assert not is_bad(base)
    assert is_bad({**base, "salient": False})
    assert is_bad({**base, "label_type": "PERSON"})
    assert not is_bad({**base, "label_type": "PERSON", "correct_types": ["PERSON", "PLACE"]})


def test_the_threshold_keeps_the_chosen_share_of_good_training_spans() -> None:
    from span_filter_fit import KEEP_GOOD, fit

    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.2
    x = np.column_stack([y + rng.normal(0, 1.0, 400), rng.normal(0, 1.0, 400)])
    model = fit(x, y)
    kept_good = (model.probability_bad(x[~y]) <= model.threshold).mean()
    assert abs(kept_good - KEEP_GOOD) < 0.01
    assert model.weights[0] > abs(model.weights[1])  # the informative column counts towards "bad", the noise barely
