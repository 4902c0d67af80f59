"""A ColorizationMetric whose ``process`` appends something other than one dict per sample is
refused, naming the metric class and what ``process`` must append (not an AttributeError
inside the prefix choice at the first validation)."""
import pytest
from mmengine.evaluator import Evaluator

from colorizer.evaluation.metrics.base import ColorizationMetric, sample_fields
from eval_samples import make_samples, random_images


class _MeanIntensity(ColorizationMetric):
    """Mean output intensity; ``as_dict=False`` appends bare floats (the fault)."""

    def __init__(self, as_dict: bool):
        super().__init__()
        self.as_dict = as_dict

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            fields = sample_fields(sample)
            value = float(fields['output'].float().mean())
            self.results.append(dict(value=value, protocol=self.protocol_of(fields))
                                if self.as_dict else value)

    def compute_values(self, results):
        return {'mean': sum(r['value'] for r in results) / len(results)}


def _samples():
    images = random_images(3, size=8)
    return make_samples(images, images)


def test_non_dict_results_name_the_metric_and_the_contract():
    evaluator = Evaluator(_MeanIntensity(as_dict=False))  # as the validation loop runs it
    evaluator.process(_samples())
    with pytest.raises(TypeError, match=r"_MeanIntensity\.process must append one dict per "
                                        r"sample to self\.results .* results\[0\] is a float"
                       ) as error:
        evaluator.evaluate(3)
    # the command-line tools report it as one line, without the traceback
    from colorizer.engine.fault_report import describe_fault
    assert '_MeanIntensity.process must append' in describe_fault(error.value)
    with pytest.raises(TypeError, match=r'_MeanIntensity\.process must append one dict'):
        _MeanIntensity(as_dict=False).compute_metrics([0.5, 0.25])


def test_dict_results_evaluate():
    samples = _samples()
    metric = _MeanIntensity(as_dict=True)
    metric.process(None, samples)
    expected = sum(float(s.output.float().mean()) for s in samples) / 3
    assert metric.evaluate(3) == pytest.approx({'random_ref/mean': expected})
