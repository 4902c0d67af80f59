"""Config mistakes stop at start-up with the offending key or type named."""
import pytest
from mmengine.config import Config

from colorizer.engine.config_validation import ConfigError, check_config


def _cfg(**kwargs):
    base = dict(default_scope='colorizer', model=dict(
        type='ReferenceColorizer',
        generator=dict(type='SCFTGenerator', attention=dict(type='SGA')),
        discriminator=dict(type='PatchDiscriminator'),
        reconstruction_loss=dict(type='L1Loss'), adversarial_loss=dict(type='LSGANLoss')),
        optim_wrapper=dict(constructor='GANOptimWrapperConstructor',
                           generator=dict(optimizer=dict(type='Adam', lr=1e-4))),
        train_dataloader=dict(sampler=dict(type='DefaultSampler'),
                              collate_fn=dict(type='pseudo_collate')),
        custom_hooks=[dict(type='SampleGridHook')])
    base.update(kwargs)
    return Config(base)


def test_valid_config_passes():
    check_config(_cfg())


def test_misspelled_top_level_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"'trian_cfg'.*train_cfg"):
        check_config(_cfg(trian_cfg=dict(max_iters=3)))


def test_private_helper_variables_are_allowed():
    check_config(_cfg(_img_size=64))


def test_unknown_attention_type_lists_the_closest_registered_names():
    cfg = _cfg()
    cfg.model.generator.attention.type = 'SGAA'
    with pytest.raises(ConfigError, match=r"model\.generator\.attention\.type = 'SGAA'.*'SGA'"):
        check_config(cfg)


def test_unknown_hook_type_is_named_with_its_path():
    with pytest.raises(ConfigError, match=r'custom_hooks\[0\]\.type'):
        check_config(_cfg(custom_hooks=[dict(type='SampleGridHok')]))
