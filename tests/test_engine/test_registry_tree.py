"""colorizer's registry tree has a child for every MMEngine root: with
``default_scope='colorizer'`` MMEngine looks every build up there first and warns in every run
("Failed to search registry with scope ...") where there is none."""
import mmengine.registry as mmengine_registry
import pytest
from mmengine.registry import DefaultScope, Registry

import colorizer.registry  # noqa: F401  (creates the children)

ROOTS = sorted(name for name in dir(mmengine_registry)
               if isinstance(getattr(mmengine_registry, name), Registry))


@pytest.mark.parametrize('root', ROOTS)
def test_every_mmengine_root_has_a_colorizer_child(root):
    registry = getattr(mmengine_registry, root)
    assert 'colorizer' in registry.children, f'mmengine.registry.{root} has no colorizer child'


def test_runner_parts_build_in_colorizer_scope_without_warnings(caplog):
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    logger.propagate = True
    try:
        with DefaultScope.overwrite_default_scope('colorizer'):
            processor = mmengine_registry.LOG_PROCESSORS.build(dict(type='LogProcessor'))
            collate = mmengine_registry.FUNCTIONS.get('pseudo_collate')
    finally:
        logger.propagate = False
    assert type(processor).__name__ == 'LogProcessor' and callable(collate)
    assert 'Failed to search registry' not in caplog.text
