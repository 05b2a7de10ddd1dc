"""Planning: compare desired DR objects with the live DR namespace, per object, without writing.

Fourth stage of the pipeline (transform → **plan** → apply → prune). ``planner.plan_namespace`` says per
object: create, update (with a field diff), unchanged, prune, or skip (why). Apply acts on the plan and
``drsyncer plan`` prints it; planning itself sends no request at all.
"""
