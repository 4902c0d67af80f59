# AFHQ wild: the same recipe as afhq_cat.py on afhq/{train,val}/wild.
# The paper has no separate test set: the test split is the val folder.
_base_ = ['./afhq_cat.py']

train_dataloader = dict(dataset=dict(data_root='data/afhq/train/wild'))
val_dataloader = dict(dataset=dict(data_root='data/afhq/val/wild'))
test_dataloader = val_dataloader
