"""Filtering: decide which discovered source objects are synced at all.

Second stage of the pipeline (discover → **filter** → transform → plan → apply). ``rules.filter_objects``
splits objects into kept and skipped, each skip with the check that matched and a reason for people.
"""
