# The demo config with a third-party attention plugin. Run from the repository root:
#   PYTHONPATH=examples/custom_attention python tools/train.py \
#       examples/custom_attention/cosine_attention_demo.py
_base_ = ['../../configs/sga/sga_demo.py']

# Imported before anything is built, so the plugin's @ATTENTIONS.register_module() runs.
custom_imports = dict(imports=['my_attention_plugin'], allow_failed_imports=False)

model = dict(generator=dict(attention=dict(type='CosineCrossAttention', temperature=0.05)))
