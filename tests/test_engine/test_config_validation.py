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


# Dataset keys, evaluator fields and save_best (a folder config once trained 500 iterations,
# then crashed at the first validation; a data_root on the demo was silently ignored).

def _demo():
    return Config.fromfile('configs/sga/sga_demo.py')


def _folder():
    return Config.fromfile('configs/sga/sga_folder.py')


def test_demo_and_folder_configs_pass():
    check_config(_demo())
    check_config(_folder())


def test_data_root_on_the_synthetic_dataset_is_rejected():
    cfg = _demo()
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': '/my/images'})
    with pytest.raises(ConfigError) as error:
        check_config(cfg)
    message = str(error.value)
    assert 'train_dataloader.dataset.data_root' in message
    assert 'SyntheticToonDataset' in message and 'never reads it' in message
    assert "'img_size'" in message and "'length'" in message  # the valid keys are listed
    assert 'sga_folder.py' in message


def test_misspelled_dataset_key_is_rejected_with_the_valid_keys():
    cfg = _folder()
    cfg.merge_from_dict({'val_dataloader.dataset.holdot': 0.2})
    with pytest.raises(ConfigError, match=r"holdot.*ColorizationDataset.*'holdout'"):
        check_config(cfg)


def test_region_color_error_on_a_folder_is_rejected():
    cfg = _folder()
    cfg.val_evaluator = [dict(type='SSIM'), dict(type='RegionColorError')]
    with pytest.raises(ConfigError) as error:
        check_config(cfg)
    message = str(error.value)
    assert 'val_evaluator[1]: RegionColorError' in message
    assert "'oracle'" in message and 'ColorizationDataset' in message


def test_region_color_error_needs_the_random_reference_mode():
    cfg = _demo()  # synthetic: oracle only in random-reference mode
    cfg.merge_from_dict({'test_dataloader.dataset.mode': 'self_reference'})
    with pytest.raises(ConfigError, match=r"test_evaluator\[0\].*\['oracle'\].*self_reference"):
        check_config(cfg)


def test_a_renamed_field_of_a_metric_is_checked():
    cfg = _folder()
    cfg.val_evaluator = [dict(type='SSIM', key='oracle')]
    with pytest.raises(ConfigError, match='oracle'):
        check_config(cfg)


def test_save_best_naming_a_metric_nobody_logs_is_rejected():
    cfg = _folder()
    cfg.default_hooks.checkpoint.save_best = 'random_ref/delta_e'  # the demo's choice
    with pytest.raises(ConfigError) as error:
        check_config(cfg)
    assert "'random_ref/delta_e'" in str(error.value)
    assert 'random_ref/ssim' in str(error.value)  # what is logged


@pytest.mark.parametrize('name', ['random_ref/delta_e', 'random_ref/delta_e/skin',
                                  'random_ref/psnr', 'auto'])
def test_save_best_names_the_demo_logs_pass(name):
    cfg = _demo()
    cfg.default_hooks.checkpoint.save_best = name
    check_config(cfg)


def test_save_best_follows_the_protocol_prefix():
    cfg = _folder()
    cfg.merge_from_dict({'val_dataloader.dataset.mode': 'self_reference'})
    with pytest.raises(ConfigError, match='self_ref/ssim'):
        check_config(cfg)  # save_best still says random_ref/ssim
