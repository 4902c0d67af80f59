# AFHQ dog: the same recipe as afhq_cat.py on afhq/{train,val}/dog.
# The paper has no separate test set: the test split is the val folder.
_base_ = ['./afhq_cat.py']

train_dataloader = dict(dataset=dict(data_root='data/afhq/train/dog'))
val_dataloader = dict(dataset=dict(data_root='data/afhq/val/dog'))
test_dataloader = val_dataloader
