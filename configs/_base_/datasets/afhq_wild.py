# AFHQ wild: the same recipe as afhq_cat.py on afhq/{train,val}/wild: training and validation
# on the two parts of the train folder, test on the val folder. The training pipeline is the
# paper's (resize to 256 px only); _augmented_train_pipeline is the opt-in augmentation.
_base_ = ['./afhq_cat.py']

train_dataloader = dict(dataset=dict(data_root='data/afhq/train/wild'))
val_dataloader = dict(dataset=dict(data_root='data/afhq/train/wild'))
test_dataloader = dict(dataset=dict(data_root='data/afhq/val/wild'))
