"""Transformation: turn a filtered source object into the object the DR cluster should hold.

Third stage of the pipeline (discover → filter → **transform** → plan → apply). Every rule is a pure,
documented function in ``catalogue.RULES``; ``runner.transform_object`` applies them in order to a copy
and records which rule changed which field (the plan's "why").
"""
