# The shipped model `corr_sga_toon64` (colorizer/apis/model_zoo.py): configs/corr_sga/
# corr_sga_demo.py at batch 8 for 1000 iterations (validation and a checkpoint at 500 and
# 1000), the budget benchmarks/bench_shipped_model.py trains both arms at.
_base_ = ['./corr_sga_demo.py']
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=1000, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
