# Control "perfect correspondence" of the correspondence study (tools/analysis_tools/
# run_study.py): the SGA block whose cross map is uniform over the reference tokens of the sketch
# token's region, from the synthetic data's ground-truth labels.
# Runs only on data with region labels (SyntheticToonDataset); it is not a colourisation method.
_base_ = ['../sga/sga_demo.py']
method = 'Oracle map (control)'
model = dict(generator=dict(attention=dict(type='OracleAttention')))
