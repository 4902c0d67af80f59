"""The correspondence study of ``tools/analysis_tools/run_study.py``, in parts: ``arms``
(what is compared), ``running`` (training the runs), ``collecting`` (records and
aggregates), ``tables`` (report, JSON, CSV) and ``figures``."""
