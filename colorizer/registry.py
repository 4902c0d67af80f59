"""Registries of colorizer.

Most registries are children of MMEngine's root registries, so MMEngine's Runner finds what
colorizer registers (``default_scope = 'colorizer'`` in the runtime config) and colorizer configs
can still use MMEngine's own hooks, optimizers and schedulers. Every MMEngine root has a
``colorizer`` child, also those colorizer adds nothing to (log processors, functions such as
``pseudo_collate``, runners, ...): with ``default_scope = 'colorizer'`` MMEngine looks each build
up in the ``colorizer`` child of the root first, and warns ("Failed to search registry with scope
...") in every run when there is none.

``ATTENTIONS``, ``CROSS_MAPS``, ``GENERATORS``, ``DISCRIMINATORS`` and ``LOSSES`` are parentless
registries with scope ``'colorizer'``. A registry that is a child of ``MODELS`` is not reached by
MMEngine's scope switching, so the generator (which builds its attention module from a nested
config) could not find a third-party plugin. Parentless registries with ``locations`` are
imported on demand and are what plugins register into::

    from colorizer.registry import ATTENTIONS

    @ATTENTIONS.register_module()
    class MyAttention(nn.Module):
        ...
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

# Data
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['colorizer.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['colorizer.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['colorizer.datasets.transforms'])

# Models (the top-level GAN model and its data preprocessor live in MODELS)
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['colorizer.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['colorizer.engine'])

# Parts of the model: parentless, see the module docstring for why.
ATTENTIONS = Registry('attention', scope='colorizer', locations=['colorizer.models.attention'])
GENERATORS = Registry('generator', scope='colorizer', locations=['colorizer.models.generators'])
DISCRIMINATORS = Registry(
    'discriminator', scope='colorizer', locations=['colorizer.models.discriminators'])
LOSSES = Registry('loss', scope='colorizer', locations=['colorizer.models.losses'])
# Cross-map strategies of the SGA block (``SGA(cross_map=dict(type=...))``).
CROSS_MAPS = Registry('cross map', scope='colorizer', locations=['colorizer.models.attention'])

# Training
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['colorizer.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['colorizer.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['colorizer.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['colorizer.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['colorizer.engine.hooks'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['colorizer.engine'])
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS)
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS)
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES)
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS)
# Functions named in configs (``collate_fn=dict(type='pseudo_collate')``).
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS)
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS)
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS)

# Evaluation
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['colorizer.evaluation.metrics'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['colorizer.evaluation'])

# Visualisation
VISUALIZERS = Registry(
    'visualizer', parent=MMENGINE_VISUALIZERS, locations=['colorizer.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMENGINE_VISBACKENDS, locations=['colorizer.visualization'])

#: Short names accepted by ``tools/misc/list_modules.py``.
REGISTRIES = {
    'dataset': DATASETS,
    'transform': TRANSFORMS,
    'model': MODELS,
    'attention': ATTENTIONS,
    'cross_map': CROSS_MAPS,
    'generator': GENERATORS,
    'discriminator': DISCRIMINATORS,
    'loss': LOSSES,
    'hook': HOOKS,
    'metric': METRICS,
    'model_wrapper': MODEL_WRAPPERS,
    'optim_wrapper_constructor': OPTIM_WRAPPER_CONSTRUCTORS,
    'loop': LOOPS,
    'visualizer': VISUALIZERS,
}
